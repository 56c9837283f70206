package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/golang-jwt/jwt/v5"
)

// wantInvalidToken checks a bearer token was refused as RFC 6750 says, without the response
// repeating it.
func wantInvalidToken(t *testing.T, r *testenv.Response, tok string) {
	t.Helper()
	wantProblem(t, r, http.StatusUnauthorized)
	if h := r.Header.Get("WWW-Authenticate"); !strings.Contains(h, `Bearer realm="codemetrics"`) || !strings.Contains(h, `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate %q, want Bearer realm=\"codemetrics\" with error=\"invalid_token\"", h)
	}
	body := string(r.Body)
	for _, part := range append([]string{tok}, strings.Split(tok, ".")...) {
		if len(part) >= 8 && strings.Contains(body, part) {
			t.Errorf("the response repeats the token it refused: %s", body)
			break
		}
	}
}

// TestForgedTokens sends tokens an attacker could make, each to be refused with 401.
func TestForgedTokens(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
		genuine := e.CreateToken(admin, map[string]any{"subject": "ci-pipeline"})
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(genuine.AccessToken)); r.Status != http.StatusOK {
			t.Fatalf("the real token is refused: %d %s", r.Status, r.Body)
		}
		e.Clock.Advance(time.Second)
		revoked := e.CreateToken(admin, map[string]any{"subject": "revoked"})
		if r := e.Do(http.MethodDelete, "/api/tokens/"+revoked.TokenID, nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}

		key := []byte(testenv.SigningKey)
		kid := token.KeyID(key)
		parts := strings.Split(genuine.AccessToken, ".")
		_, realClaims := jwtParts(t, genuine.AccessToken)
		claims := func(change map[string]any) map[string]any {
			c := maps.Clone(realClaims)
			for k, v := range change {
				if v == nil {
					delete(c, k)
				} else {
					c[k] = v
				}
			}
			return c
		}
		hdr := func(alg string, extra map[string]any) map[string]any {
			h := map[string]any{"alg": alg, "typ": "JWT", "kid": kid}
			for k, v := range extra {
				if v == nil {
					delete(h, k)
				} else {
					h[k] = v
				}
			}
			return h
		}
		withLib := func(m jwt.SigningMethod, h map[string]any, c map[string]any, k any) string {
			tk := jwt.NewWithClaims(m, jwt.MapClaims(c))
			maps.Copy(tk.Header, h)
			s, err := tk.SignedString(k)
			if err != nil {
				t.Fatalf("sign: %v", err)
			}
			return s
		}
		tampered := func(change map[string]any) string { // the real signature kept
			return parts[0] + "." + seg(t, claims(change)) + "." + parts[2]
		}
		now := e.Clock.Now()
		signed := func(change func(c *token.Claims)) string { // right key, right kid
			c := &token.Claims{
				ID: genuine.TokenID, Subject: "ci-pipeline", Issuer: "codemetrics", Audience: token.Audience,
				IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
				TokenUse: token.UseService, Scope: "metrics:read",
			}
			change(c)
			s, err := e.Server.Keys.Sign(c)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		unissued, _ := token.NewID()
		attackerKey := []byte("attacker-chosen-key-0123456789-abcdefghijklmnop")

		forged := []struct{ name, tok string }{
			{"alg none", seg(t, hdr("none", nil)) + "." + parts[1] + "."},
			{"alg None", seg(t, hdr("None", nil)) + "." + parts[1] + "."},
			{"alg NONE", seg(t, hdr("NONE", nil)) + "." + parts[1] + "."},
			{"alg none without kid", seg(t, map[string]any{"alg": "none"}) + "." + parts[1] + "."},
			{"alg none with the real signature", seg(t, hdr("none", nil)) + "." + parts[1] + "." + parts[2]},
			{"HS384 with the real key", withLib(jwt.SigningMethodHS384, hdr("HS384", nil), realClaims, key)},
			{"HS512 with the real key", withLib(jwt.SigningMethodHS512, hdr("HS512", nil), realClaims, key)},
			{"RS256 with a garbage signature", seg(t, hdr("RS256", nil)) + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString([]byte("garbage signature"))},
			{"ES256 with the real signature", seg(t, hdr("ES256", nil)) + "." + parts[1] + "." + parts[2]},
			{"HMAC keyed with the public kid", handSign(t, []byte(kid), hdr("HS256", nil), realClaims)},
			{"HMAC keyed with the empty key", handSign(t, []byte{}, hdr("HS256", nil), realClaims)},
			{"HMAC with an embedded jwk", handSign(t, attackerKey, hdr("HS256", map[string]any{"jwk": map[string]any{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(attackerKey)}}), realClaims)},
			{"HMAC with a jku", handSign(t, attackerKey, hdr("HS256", map[string]any{"jku": "https://evil.example/jwks.json"}), realClaims)},
			{"kid path traversal, empty key", handSign(t, []byte{}, hdr("HS256", map[string]any{"kid": "../../../../../../dev/null"}), realClaims)},
			{"signature stripped", parts[0] + "." + parts[1] + "."},
			{"signature segment missing", parts[0] + "." + parts[1]},
			{"extra segment", genuine.AccessToken + ".AAAA"},
			{"signature of another key, same kid", handSign(t, attackerKey, hdr("HS256", nil), realClaims)},
			{"right key, unknown kid", handSign(t, key, hdr("HS256", map[string]any{"kid": "0000000000000000"}), realClaims)},
			{"right key, no kid", handSign(t, key, hdr("HS256", map[string]any{"kid": nil}), realClaims)},
			{"right key, numeric kid", handSign(t, key, hdr("HS256", map[string]any{"kid": 1}), realClaims)},
			{"changed sub", tampered(map[string]any{"sub": "admin@example.com"})},
			{"changed exp", tampered(map[string]any{"exp": now.Add(100 * 365 * 24 * time.Hour).Unix()})},
			{"changed scope", tampered(map[string]any{"scope": "metrics:read pipeline:write"})},
			{"changed jti", tampered(map[string]any{"jti": revoked.TokenID})},
			{"changed token_use", tampered(map[string]any{"token_use": "session"})},
			{"iat an hour in the future", signed(func(c *token.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) })},
			{"nbf an hour in the future", signed(func(c *token.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) })},
			{"exp in the past", signed(func(c *token.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) })},
			{"no exp", signed(func(c *token.Claims) { c.ExpiresAt = nil })},
			{"wrong iss", signed(func(c *token.Claims) { c.Issuer = "someone-else" })},
			{"no iss", signed(func(c *token.Claims) { c.Issuer = "" })},
			{"aud another string", signed(func(c *token.Claims) { c.Audience = "other-api" })},
			{"aud an array", handSign(t, key, hdr("HS256", nil), claims(map[string]any{"aud": []string{"codemetrics-api"}}))},
			{"aud an array with another", handSign(t, key, hdr("HS256", nil), claims(map[string]any{"aud": []string{"codemetrics-api", "other-api"}}))},
			{"token_use session, unknown sid", signed(func(c *token.Claims) {
				c.TokenUse = token.UseSession
				c.SessionID = "no-such-session"
				c.Subject = "admin@example.com"
			})},
			{"token_use session, no sid", signed(func(c *token.Claims) { c.TokenUse = token.UseSession; c.Subject = "admin@example.com" })},
			{"token_use admin", signed(func(c *token.Claims) { c.TokenUse = "admin" })},
			{"no token_use", signed(func(c *token.Claims) { c.TokenUse = "" })},
			{"jti never issued", signed(func(c *token.Claims) { c.ID = unissued })},
			{"no jti", signed(func(c *token.Claims) { c.ID = "" })},
			{"revoked", revoked.AccessToken},
			{"not a JWT", "not-a-jwt"},
			{"JSON instead of base64", `{"alg":"none"}.{"sub":"x"}.`},
		}
		for _, f := range forged {
			r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(f.tok))
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s: %d %s, want 401", f.name, r.Status, r.Body)
				continue
			}
			wantInvalidToken(t, r, f.tok)
			// Nor may a forged token reach the administrator's endpoints.
			if r := e.Do(http.MethodGet, "/api/tokens", nil, testenv.Bearer(f.tok)); r.Status != http.StatusUnauthorized {
				t.Errorf("%s on /api/tokens: %d %s, want 401", f.name, r.Status, r.Body)
			}
		}

		// The real token still works after all that.
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(genuine.AccessToken)); r.Status != http.StatusOK {
			t.Errorf("the real token is refused after the forgeries: %d %s", r.Status, r.Body)
		}

		// Expiry, to the second: genuine (used, so cached) expires one year after the epoch,
		// unused (never used) and probe one second later.
		unused := e.CreateToken(admin, map[string]any{"subject": "unused"})
		probe := e.CreateToken(admin, map[string]any{"subject": "probe"})
		at := func(d time.Duration) {
			e.Clock.Advance(testenv.Epoch.Add(d).Sub(e.Clock.Now()))
			e.Sync()
		}
		year := 365 * 24 * time.Hour
		use := func(tok string) *testenv.Response {
			return e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok))
		}
		at(year - time.Second)
		if r := use(genuine.AccessToken); r.Status != http.StatusOK {
			t.Errorf("one second before expiry the used token is refused: %d %s", r.Status, r.Body)
		}
		at(year)
		wantInvalidToken(t, use(genuine.AccessToken), genuine.AccessToken)
		if r := use(probe.AccessToken); r.Status != http.StatusOK {
			t.Errorf("one second before expiry a token used for the first time is refused: %d %s", r.Status, r.Body)
		}
		at(year + time.Second)
		wantInvalidToken(t, use(unused.AccessToken), unused.AccessToken)
	})
}

// TestAuthorizationHeaderOddities sends Authorization headers that are malformed, doubled or
// huge.
func TestAuthorizationHeaderOddities(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
		tok := e.CreateToken(admin, map[string]any{"subject": "ci"}).AccessToken

		cases := []struct {
			name, value string
			status      int
		}{
			{"Bearer alone", "Bearer", 401},
			{"Bearer and spaces", "Bearer  ", 401},
			{"Basic", "Basic dXNlcjpwYXNz", 401},
			{"Token scheme", "Token " + tok, 401},
			{"no scheme", tok, 401},
			{"two tokens", "Bearer " + tok + " " + tok, 401},
			{"lower-case scheme", "bearer " + tok, 200},
			{"upper-case scheme", "BEARER " + tok, 200},
		}
		for _, c := range cases {
			r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Header("Authorization", c.value))
			if r.Status != c.status {
				t.Errorf("%s: %d %s, want %d", c.name, r.Status, r.Body, c.status)
				continue
			}
			if c.status == 401 {
				wantProblem(t, r, 401)
				if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, `Bearer realm="codemetrics"`) {
					t.Errorf("%s: WWW-Authenticate %q", c.name, h)
				}
				if strings.Contains(string(r.Body), tok) {
					t.Errorf("%s: the response repeats the token", c.name)
				}
			}
		}

		// Two Authorization headers, even when both hold the real token: ambiguous, refused.
		for name, second := range map[string]string{"same token twice": "Bearer " + tok, "then Basic": "Basic dXNlcjpwYXNz", "then garbage": "Bearer x.y.z"} {
			req, err := http.NewRequest(http.MethodGet, e.URL+"/api/system/config", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Add("Authorization", "Bearer "+tok)
			req.Header.Add("Authorization", second)
			resp, err := e.HTTP.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("two Authorization headers (%s): %d %s, want 401", name, resp.StatusCode, b)
			}
		}

		// A 100 KB header is refused, and the server keeps serving.
		huge := "Bearer " + strings.Repeat("A", 100<<10)
		r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Header("Authorization", huge))
		if r.Status != http.StatusRequestHeaderFieldsTooLarge && r.Status != http.StatusUnauthorized {
			t.Errorf("100 KB Authorization header: %d, want 431 or 401", r.Status)
		}
		if len(r.Body) > 4096 {
			t.Errorf("the refusal of a 100 KB header is %d bytes long: it echoes the header", len(r.Body))
		}
		hugeJWT := hugeJWTShaped(t, 100<<10)
		r = e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(hugeJWT))
		if r.Status != http.StatusRequestHeaderFieldsTooLarge && r.Status != http.StatusUnauthorized {
			t.Errorf("100 KB JWT-shaped token: %d, want 431 or 401", r.Status)
		}
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok)); r.Status != http.StatusOK {
			t.Errorf("after the huge headers the real token is refused: %d", r.Status)
		}
	})
}

// hugeJWTShaped returns a JWT-shaped string of about n bytes: a valid header, a huge payload and a
// signature, so that the parser has to decode it.
func hugeJWTShaped(t *testing.T, n int) string {
	t.Helper()
	payload, _ := json.Marshal(map[string]string{"sub": strings.Repeat("x", n*3/4)})
	return seg(t, map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString([]byte("sig"))
}
