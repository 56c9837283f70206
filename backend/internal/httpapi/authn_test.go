package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/testenv/jwttest"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/golang-jwt/jwt/v5"
)

// TestForgedTokens sends tokens an attacker could make, each to be refused with 401.
func TestForgedTokens(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		genuine := e.CreateToken(admin, map[string]any{"subject": "ci-pipeline"})
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(genuine.AccessToken)); r.Status != http.StatusOK {
			t.Fatalf("the real token is refused: %d %s", r.Status, r.Body)
		}
		e.Clock.Advance(time.Second)
		revoked := e.CreateToken(admin, map[string]any{"subject": "revoked"})
		e.Revoke(admin, revoked.TokenID)

		key := []byte(testenv.SigningKey)
		kid := token.KeyID(key)
		parts := strings.Split(genuine.AccessToken, ".")
		_, realClaims := jwttest.Parts(t, genuine.AccessToken)
		claims := func(change map[string]any) map[string]any { return jwttest.With(realClaims, change) }
		hdr := func(alg string, change map[string]any) map[string]any {
			return jwttest.With(map[string]any{"alg": alg, "typ": "JWT", "kid": kid}, change)
		}
		tampered := func(change map[string]any) string { // the real signature kept
			return parts[0] + "." + jwttest.Segment(t, claims(change)) + "." + parts[2]
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
			{"alg none", jwttest.Segment(t, hdr("none", nil)) + "." + parts[1] + "."},
			{"alg None", jwttest.Segment(t, hdr("None", nil)) + "." + parts[1] + "."},
			{"alg NONE", jwttest.Segment(t, hdr("NONE", nil)) + "." + parts[1] + "."},
			{"alg none without kid", jwttest.Segment(t, map[string]any{"alg": "none"}) + "." + parts[1] + "."},
			{"alg none with the real signature", jwttest.Segment(t, hdr("none", nil)) + "." + parts[1] + "." + parts[2]},
			{"HS384 with the real key", jwttest.Sign(t, jwt.SigningMethodHS384, key, hdr("HS384", nil), realClaims)},
			{"HS512 with the real key", jwttest.Sign(t, jwt.SigningMethodHS512, key, hdr("HS512", nil), realClaims)},
			{"RS256 with a garbage signature", jwttest.Segment(t, hdr("RS256", nil)) + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString([]byte("garbage signature"))},
			{"ES256 with the real signature", jwttest.Segment(t, hdr("ES256", nil)) + "." + parts[1] + "." + parts[2]},
			{"HMAC keyed with the public kid", jwttest.HandSign(t, []byte(kid), hdr("HS256", nil), realClaims)},
			{"HMAC keyed with the empty key", jwttest.HandSign(t, []byte{}, hdr("HS256", nil), realClaims)},
			{"HMAC with an embedded jwk", jwttest.HandSign(t, attackerKey, hdr("HS256", map[string]any{"jwk": map[string]any{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(attackerKey)}}), realClaims)},
			{"HMAC with a jku", jwttest.HandSign(t, attackerKey, hdr("HS256", map[string]any{"jku": "https://evil.example/jwks.json"}), realClaims)},
			{"kid path traversal, empty key", jwttest.HandSign(t, []byte{}, hdr("HS256", map[string]any{"kid": "../../../../../../dev/null"}), realClaims)},
			{"signature stripped", parts[0] + "." + parts[1] + "."},
			{"signature segment missing", parts[0] + "." + parts[1]},
			{"extra segment", genuine.AccessToken + ".AAAA"},
			{"signature of another key, same kid", jwttest.HandSign(t, attackerKey, hdr("HS256", nil), realClaims)},
			{"right key, unknown kid", jwttest.HandSign(t, key, hdr("HS256", map[string]any{"kid": "0000000000000000"}), realClaims)},
			{"right key, no kid", jwttest.HandSign(t, key, hdr("HS256", map[string]any{"kid": nil}), realClaims)},
			{"right key, numeric kid", jwttest.HandSign(t, key, hdr("HS256", map[string]any{"kid": 1}), realClaims)},
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
			{"aud an array", jwttest.HandSign(t, key, hdr("HS256", nil), claims(map[string]any{"aud": []string{"codemetrics-api"}}))},
			{"aud an array with another", jwttest.HandSign(t, key, hdr("HS256", nil), claims(map[string]any{"aud": []string{"codemetrics-api", "other-api"}}))},
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
			testenv.WantInvalidToken(t, r, f.tok)
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
		testenv.WantInvalidToken(t, use(genuine.AccessToken), genuine.AccessToken)
		if r := use(probe.AccessToken); r.Status != http.StatusOK {
			t.Errorf("one second before expiry a token used for the first time is refused: %d %s", r.Status, r.Body)
		}
		at(year + time.Second)
		testenv.WantInvalidToken(t, use(unused.AccessToken), unused.AccessToken)
	})
}

// TestAuthorizationHeaderOddities sends Authorization headers that are malformed, doubled or
// huge.
func TestAuthorizationHeaderOddities(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
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
				testenv.WantProblem(t, r, 401)
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
	return jwttest.Segment(t, map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString([]byte("sig"))
}

// TestWhoMayCallWhat runs every endpoint as every kind of caller.
func TestWhoMayCallWhat(t *testing.T) {
	t.Parallel()
	type endpoint struct {
		name, method, path string // path "" + victim for the DELETE
		body               any
	}
	endpoints := []endpoint{
		{"create token", http.MethodPost, "/api/tokens", map[string]any{"subject": "minted-by-caller"}},
		{"list tokens", http.MethodGet, "/api/tokens", nil},
		{"revoke token", http.MethodDelete, "/api/tokens/", nil},
		{"system config", http.MethodGet, "/api/system/config", nil},
		{"me", http.MethodGet, "/api/auth/me", nil},
		{"session token", http.MethodPost, "/api/auth/session-token", nil},
	}
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		viewer := e.SignIn("viewer@example.com", false)
		service := e.CreateToken(admin, map[string]any{"subject": "pipeline", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"*"}})
		e.Clock.Advance(time.Second)
		victim := e.CreateToken(admin, map[string]any{"subject": "victim"})

		callers := []struct {
			name string
			opts []testenv.Opt
			want map[string]int
		}{
			{"no credentials", nil, map[string]int{
				"create token": 401, "list tokens": 401, "revoke token": 401,
				"system config": 401, "me": 401, "session token": 401,
			}},
			{"service token", []testenv.Opt{testenv.Bearer(service.AccessToken)}, map[string]int{
				"create token": 403, "list tokens": 403, "revoke token": 403,
				"system config": 200, "me": 403, "session token": 403,
			}},
			{"non-administrator", []testenv.Opt{e.As(viewer)}, map[string]int{
				"create token": 403, "list tokens": 403, "revoke token": 403,
				"system config": 403, "me": 200, "session token": 403,
			}},
			{"administrator", []testenv.Opt{e.As(admin)}, map[string]int{
				"create token": 201, "list tokens": 200, "revoke token": 204,
				"system config": 200, "me": 200, "session token": 200,
			}},
		}
		for _, c := range callers {
			t.Run(c.name, func(t *testing.T) {
				e := e.For(t)
				for _, ep := range endpoints {
					path := ep.path
					if ep.method == http.MethodDelete {
						path += victim.TokenID
					}
					r := e.Do(ep.method, path, ep.body, c.opts...)
					want := c.want[ep.name]
					if r.Status != want {
						t.Errorf("%s %s: %d %s, want %d", ep.method, path, r.Status, r.Body, want)
						continue
					}
					switch want {
					case 401:
						testenv.WantProblem(t, r, 401)
						if h := r.Header.Get("WWW-Authenticate"); h != `Bearer realm="codemetrics"` {
							t.Errorf("%s %s: WWW-Authenticate %q, want Bearer realm=\"codemetrics\"", ep.method, path, h)
						}
					case 403:
						testenv.WantProblem(t, r, 403)
					}
					if ep.name == "me" && want == 200 {
						var me struct {
							Email   string `json:"email"`
							IsAdmin *bool  `json:"isAdmin"`
						}
						r.JSON(t, &me)
						isAdmin := c.name == "administrator"
						if me.IsAdmin == nil || *me.IsAdmin != isAdmin {
							t.Errorf("me as %s: isAdmin %v, want %v: %s", c.name, me.IsAdmin, isAdmin, r.Body)
						}
					}
				}
				if c.name != "administrator" {
					// Nothing was minted or revoked.
					got := testenv.TokenIDs(e.ListTokens(admin))
					if !slices.Equal(got, []string{victim.TokenID, service.TokenID}) {
						t.Errorf("after the calls of %s the tokens are %v, want the two made by the test", c.name, got)
					}
					if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(victim.AccessToken)); r.Status != http.StatusOK {
						t.Errorf("the victim token no longer works: %d", r.Status)
					}
				}
			})
		}
	})
}

// TestCookieStateChangesNeedCSRF checks that the session cookie alone, as a cross-site form or
// script would send it, cannot create or revoke tokens.
func TestCookieStateChangesNeedCSRF(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		other := e.SignIn("other-admin@example.com", true)
		victim := e.CreateToken(admin, map[string]any{"subject": "victim"})

		if r := e.Do(http.MethodGet, "/api/tokens", nil, testenv.Cookie(admin)); r.Status != http.StatusOK {
			t.Errorf("GET /api/tokens with the cookie: %d %s, want 200", r.Status, r.Body)
		}

		attempts := []struct {
			name string
			opts []testenv.Opt
		}{
			{"cookie only", []testenv.Opt{testenv.Cookie(admin)}},
			{"cookie and same-origin Origin, no CSRF token", []testenv.Opt{testenv.Cookie(admin), testenv.Header("Origin", e.URL)}},
			{"wrong CSRF token", []testenv.Opt{testenv.Cookie(admin), testenv.Header("X-CSRF-Token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")}},
			{"CSRF token of another session", []testenv.Opt{testenv.Cookie(admin), testenv.Header("X-CSRF-Token", other.CSRF)}},
			{"CSRF token with a suffix", []testenv.Opt{testenv.Cookie(admin), testenv.Header("X-CSRF-Token", admin.CSRF+"x")}},
			{"right CSRF token from a foreign Origin", []testenv.Opt{e.As(admin), testenv.Header("Origin", "https://evil.example")}},
			{"right CSRF token from Origin null", []testenv.Opt{e.As(admin), testenv.Header("Origin", "null")}},
			{"right CSRF token, Sec-Fetch-Site cross-site", []testenv.Opt{testenv.Cookie(admin), testenv.Header("X-CSRF-Token", admin.CSRF), testenv.Header("Sec-Fetch-Site", "cross-site")}},
			{"right CSRF token, Sec-Fetch-Site same-site", []testenv.Opt{testenv.Cookie(admin), testenv.Header("X-CSRF-Token", admin.CSRF), testenv.Header("Sec-Fetch-Site", "same-site")}},
		}
		for _, a := range attempts {
			t.Run(a.name, func(t *testing.T) {
				e := e.For(t)
				for _, req := range []struct {
					method, path string
					body         any
				}{
					{http.MethodPost, "/api/tokens", map[string]any{"subject": "forged"}},
					{http.MethodDelete, "/api/tokens/" + victim.TokenID, nil},
					{http.MethodPost, "/api/auth/session-token", nil},
				} {
					r := e.Do(req.method, req.path, req.body, a.opts...)
					if r.Status != http.StatusForbidden {
						t.Errorf("%s %s: %d %s, want 403", req.method, req.path, r.Status, r.Body)
						continue
					}
					testenv.WantProblem(t, r, http.StatusForbidden)
				}
				if got := testenv.TokenIDs(e.ListTokens(admin)); !slices.Equal(got, []string{victim.TokenID}) {
					t.Errorf("tokens are %v, want only the victim, unrevoked", got)
				}
			})
		}

		// The portal's own request, for contrast, works.
		if r := e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "real"}, e.As(admin)); r.Status != http.StatusCreated {
			t.Errorf("create with cookie, CSRF token and same Origin: %d %s", r.Status, r.Body)
		}
	})
}

// TestPlantedCSRFCookieIsHarmless: a sibling subdomain (evil.example.com beside
// codemetrics.example.com) can set a codemetrics_csrf cookie that the browser sends here and
// that script here can read. The CSRF token therefore lives nowhere a cookie can shadow it: the
// portal takes it from GET /api/auth/me and the server checks it against the session alone. A
// planted cookie neither breaks the administrator's actions nor authorises a forged one.
func TestPlantedCSRFCookieIsHarmless(t *testing.T) {
	testenv.ForEachIDP(t, func(t *testing.T, e *testenv.Env, p *testenv.IDP, b *testenv.Browser) {
		signIn := b.SignIn(e, p, testenv.AdminUser())
		for _, c := range signIn.Cookies() {
			if (c.Name == "codemetrics_csrf" || c.Name == "__Host-codemetrics_csrf") && c.Value != "" {
				t.Errorf("the sign-in sets a CSRF cookie that a planted one could shadow: %+v", c)
			}
		}
		const planted = "planted-by-a-sibling-subdomain"
		b.Plant(e.URL, "codemetrics_csrf", planted)

		// The portal's source of the token is untouched by the cookie.
		csrf := b.CSRF(e)
		if csrf == planted {
			t.Fatal("GET /api/auth/me hands out the planted value")
		}
		for _, tc := range []struct {
			name   string
			header string
			want   int
		}{
			{"legitimate action, planted cookie beside it", csrf, http.StatusCreated},
			{"forged action echoing the planted cookie", planted, http.StatusForbidden},
			{"forged action with no header", "", http.StatusForbidden},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp := b.Send(http.MethodPost, e.URL+"/api/tokens", tc.header, map[string]any{"subject": "ci"})
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
				}
			})
		}
		resp := b.Send(http.MethodPost, e.URL+"/auth/logout", csrf, nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("sign-out with a planted cookie beside the session: %d", resp.StatusCode)
		}
	})
}

// TestKeyFetchingHeadersAreNeverFollowed puts jku, x5u and jwk headers pointing at a canary
// listener into tokens: no connection may ever reach it.
func TestKeyFetchingHeadersAreNeverFollowed(t *testing.T) {
	canary, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer canary.Close()
	var hits atomic.Int64
	go func() {
		for {
			c, err := canary.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			c.Close()
		}
	}()
	url := "http://" + canary.Addr().String() + "/keys.json"

	e := testenv.Start(t, testenv.SQLite(t))
	admin := e.SignIn("admin@example.com", true)
	good := e.CreateToken(admin, map[string]any{"subject": "ci"})
	_, claims := jwttest.Parts(t, good.AccessToken)
	attackerKey := []byte("attacker-chosen-hmac-key-0123456789abcdef")
	for name, h := range map[string]map[string]any{
		"jku": {"jku": url, "kid": "attacker"},
		"x5u": {"x5u": url, "kid": "attacker"},
		"jwk": {"jwk": map[string]any{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(attackerKey)}, "kid": "attacker"},
	} {
		tok := jwttest.Sign(t, jwt.SigningMethodHS256, attackerKey, h, claims)
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok)); r.Status != http.StatusUnauthorized {
			t.Errorf("%s header: %d, want 401", name, r.Status)
		}
	}
	// Verification is synchronous: a fetch would have connected before the 401 was written.
	if n := hits.Load(); n != 0 {
		t.Fatalf("the canary saw %d connections: a key URL in a token was fetched", n)
	}
}

func TestPerTokenRateLimit(t *testing.T) {
	testenv.ForEachServerWith(t, testenv.Settings{Env: map[string]string{"RATE_LIMIT_PER_MINUTE": "3"}}, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		busy := e.CreateToken(admin, map[string]any{"subject": "busy"})
		calm := e.CreateToken(admin, map[string]any{"subject": "calm"})

		for i, want := range []string{"remaining=2", "remaining=1", "remaining=0"} {
			r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(busy.AccessToken))
			if r.Status != http.StatusOK || !strings.Contains(r.Header.Get("RateLimit"), want) || r.Header.Get("RateLimit-Policy") != "3;w=60" {
				t.Fatalf("request %d: %d RateLimit=%q Policy=%q", i+1, r.Status, r.Header.Get("RateLimit"), r.Header.Get("RateLimit-Policy"))
			}
		}
		r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(busy.AccessToken))
		testenv.WantProblem(t, r, http.StatusTooManyRequests)
		if r.Header.Get("Retry-After") != "20" {
			t.Errorf("Retry-After %q, want 20 (one request every 20 s at 3 a minute)", r.Header.Get("Retry-After"))
		}
		// Another token has its own budget; administrators are not limited by tokens' budgets.
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(calm.AccessToken)); r.Status != http.StatusOK {
			t.Errorf("another token: %d", r.Status)
		}
		if r := e.Do(http.MethodGet, "/api/tokens", nil, e.As(admin)); r.Status != http.StatusOK {
			t.Errorf("administrator: %d", r.Status)
		}

		e.Clock.Advance(20 * time.Second)
		e.Sync()
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(busy.AccessToken)); r.Status != http.StatusOK {
			t.Fatalf("after waiting Retry-After: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(busy.AccessToken)); r.Status != http.StatusTooManyRequests {
			t.Fatalf("one request refilled, not two: %d", r.Status)
		}
	})
}

// Session tokens have a budget per session, as service tokens have one per token: minting
// more session tokens from one session adds no budget.
func TestSessionTokensAreRateLimited(t *testing.T) {
	testenv.ForEachServerWith(t, testenv.Settings{Env: map[string]string{"RATE_LIMIT_PER_MINUTE": "3"}}, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		first, second := e.SessionToken(admin), e.SessionToken(admin)
		for i, want := range []string{"remaining=2", "remaining=1"} {
			r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Bearer(first))
			if r.Status != http.StatusOK || !strings.Contains(r.Header.Get("RateLimit"), want) || r.Header.Get("RateLimit-Policy") != "3;w=60" {
				t.Fatalf("request %d: %d RateLimit=%q Policy=%q", i+1, r.Status, r.Header.Get("RateLimit"), r.Header.Get("RateLimit-Policy"))
			}
		}
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Bearer(second)); r.Status != http.StatusOK || !strings.Contains(r.Header.Get("RateLimit"), "remaining=0") {
			t.Fatalf("the second token of the session: %d %q", r.Status, r.Header.Get("RateLimit"))
		}
		r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Bearer(first))
		testenv.WantProblem(t, r, http.StatusTooManyRequests)
		if r.Header.Get("Retry-After") != "20" {
			t.Errorf("Retry-After %q, want 20", r.Header.Get("Retry-After"))
		}
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/tokens", nil, testenv.Bearer(e.SessionToken(admin))), http.StatusTooManyRequests)
		// Another person's session has its own budget; the portal's cookie is not limited.
		other := e.SignIn("other@example.com", true)
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Bearer(e.SessionToken(other))); r.Status != http.StatusOK {
			t.Errorf("another session: %d", r.Status)
		}
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, e.As(admin)); r.Status != http.StatusOK {
			t.Errorf("the portal's cookie: %d", r.Status)
		}
		e.Clock.Advance(20 * time.Second)
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Bearer(second)); r.Status != http.StatusOK {
			t.Errorf("after Retry-After: %d", r.Status)
		}
	})
}

func TestFailedAuthenticationsAreLimitedPerAddress(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "3"}})
	admin := e.SignIn("admin@example.com", true)
	good := e.CreateToken(admin, map[string]any{"subject": "ci"})

	for i := range 3 {
		r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("forged."+strings.Repeat("x", i+1)+".sig"))
		testenv.WantProblem(t, r, http.StatusUnauthorized)
	}
	// The guesser is now slowed down, whatever X-Forwarded-For or X-Real-IP it claims (no
	// trusted proxies)...
	for _, h := range [][2]string{{"X-Forwarded-For", ""}, {"X-Forwarded-For", "203.0.113.9"}, {"X-Forwarded-For", "10.0.0.1, 198.51.100.7"}, {"X-Real-IP", "198.51.100.8"}} {
		r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("forged.again.sig"), testenv.Header(h[0], h[1]))
		testenv.WantProblem(t, r, http.StatusTooManyRequests)
		if r.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	// ...but a valid token from the same address is never refused for others' failures, and
	// its successes do not spend the failure budget.
	for range 5 {
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(good.AccessToken)); r.Status != http.StatusOK {
			t.Fatalf("valid token from the failing address: %d %s", r.Status, r.Body)
		}
	}
	// The failure budget refills with time.
	e.Clock.Advance(20 * time.Second)
	e.Sync()
	testenv.WantProblem(t, e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("forged.later.sig")), http.StatusUnauthorized)
	testenv.WantProblem(t, e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer("forged.later.sig")), http.StatusTooManyRequests)
}

// TestGarbageTokensCannotLockOutAValidToken streams garbage tokens from one address, as
// anyone sharing the address (an office NAT, a proxy not in TRUSTED_PROXIES) could, while a
// CI job at the same address calls with its valid service token and an administrator with a
// session token: the garbage is refused, 401 and then 429, and every valid call succeeds.
func TestGarbageTokensCannotLockOutAValidToken(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		const budget = 5
		e := testenv.Start(t, db, testenv.Settings{Env: map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": fmt.Sprint(budget)}})
		admin := e.SignIn("admin@example.com", true)
		ci := e.CreateToken(admin, map[string]any{"subject": "ci"})
		sessionToken := e.SessionToken(admin)

		for i := range 60 {
			garbage := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(fmt.Sprintf("garbage.%d.sig", i)))
			if want := refusedOrLimited(i, budget); garbage.Status != want {
				t.Fatalf("garbage token %d: %d, want %d", i+1, garbage.Status, want)
			}
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(ci.AccessToken)); r.Status != http.StatusOK {
				t.Fatalf("valid service token after %d garbage tokens: %d %s", i+1, r.Status, r.Body)
			}
			if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Bearer(sessionToken)); r.Status != http.StatusOK {
				t.Fatalf("valid session token after %d garbage tokens: %d %s", i+1, r.Status, r.Body)
			}
		}
	})
}
