package scenario

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/testenv/jwttest"
	"github.com/golang-jwt/jwt/v5"
)

// countedServer starts a server whose every database statement is counted, and makes it a
// genuine token to forge others from.
func countedServer(t *testing.T, db testenv.DB) (*testenv.Env, *atomic.Int64, testenv.CreatedToken) {
	t.Helper()
	queries := &atomic.Int64{}
	e := testenv.Start(t, db, testenv.Settings{Store: store.Options{Queries: queries}})
	good := e.CreateToken(e.SignIn("admin@example.com", true), map[string]any{"subject": "ci"})
	return e, queries, good
}

// TestForgedTokensNeverReachTheDatabase sends forged tokens through real HTTP and counts the
// database statements they cause: none. A valid token costs one look-up, then none.
func TestForgedTokensNeverReachTheDatabase(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e, queries, good := countedServer(t, db)
		header, claims := jwttest.Parts(t, good.AccessToken)
		kid := map[string]any{"kid": header["kid"]}
		now := testenv.Epoch.Unix()
		other := []byte("another-deployment-signing-key-0123456789")
		forged := map[string]string{
			"alg none":          jwttest.Segment(t, map[string]any{"alg": "none", "typ": "JWT"}) + "." + jwttest.Segment(t, claims) + ".",
			"another key":       jwttest.Sign(t, jwt.SigningMethodHS256, other, kid, claims),
			"expired":           jwttest.Sign(t, jwt.SigningMethodHS256, []byte(testenv.SigningKey), kid, jwttest.With(claims, map[string]any{"exp": now - 1})),
			"wrong audience":    jwttest.Sign(t, jwt.SigningMethodHS256, []byte(testenv.SigningKey), kid, jwttest.With(claims, map[string]any{"aud": "other"})),
			"kid SQL injection": jwttest.Sign(t, jwt.SigningMethodHS256, []byte(testenv.SigningKey), map[string]any{"kid": "' OR 1=1 --"}, claims),
			"kid path":          jwttest.Sign(t, jwt.SigningMethodHS256, []byte(""), map[string]any{"kid": "../../../../dev/null"}, claims),
			"garbage":           "eyJ.eyJ.sig",
		}
		queries.Store(0)
		for name, tok := range forged {
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok)); r.Status != http.StatusUnauthorized {
				t.Errorf("%s: %d, want 401", name, r.Status)
			}
		}
		if n := queries.Load(); n != 0 {
			t.Errorf("forged tokens caused %d database statements, want 0", n)
		}
		// Steady state: the first use looks the id up once; the next hundred cost nothing.
		for range 101 {
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(good.AccessToken)); r.Status != http.StatusOK {
				t.Fatalf("valid token: %d", r.Status)
			}
		}
		if n := queries.Load(); n != 1 {
			t.Errorf("101 authenticated requests made %d database statements, want 1 (the first look-up)", n)
		}
	})
}

// TestOneTokenHasOneSpelling sends a valid token's other spellings (the same signature bytes,
// other unused bits) and correctly signed tokens whose claims have the wrong JSON type: each is
// refused with 401 before any database statement. Before strict decoding, every spelling was a
// working copy of the token that a denylist of values or a cache keyed by value could miss.
func TestOneTokenHasOneSpelling(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e, queries, good := countedServer(t, db)
		header, claims := jwttest.Parts(t, good.AccessToken)
		key := []byte(testenv.SigningKey)
		signed := func(change map[string]any) string {
			return jwttest.Sign(t, jwt.SigningMethodHS256, key, map[string]any{"kid": header["kid"]}, jwttest.With(claims, change))
		}
		exp := jwttest.Num(t, claims, "exp")
		cases := map[string]string{
			"exp a string":                   signed(map[string]any{"exp": "1999999999"}),
			"exp a string of the real value": signed(map[string]any{"exp": strconv.FormatInt(exp, 10)}),
			"iat a string":                   signed(map[string]any{"iat": "1700000000"}),
			"nbf a string":                   signed(map[string]any{"nbf": "1700000000"}),
			"exp an object":                  signed(map[string]any{"exp": map[string]any{"$gt": 0}}),
			"exp true":                       signed(map[string]any{"exp": true}),
			"jti a number":                   signed(map[string]any{"jti": 12345}),
			"sub a number":                   signed(map[string]any{"sub": 12345}),
			"sub an array":                   signed(map[string]any{"sub": []string{"ci"}}),
			"token_use a number":             signed(map[string]any{"token_use": 1}),
		}
		for i, s := range respellings(t, good.AccessToken) {
			cases["signature respelt "+string(rune('1'+i))] = s
		}
		queries.Store(0)
		for name, tok := range cases {
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok)); r.Status != http.StatusUnauthorized {
				t.Errorf("%s: %d %s, want 401", name, r.Status, r.Body)
			}
		}
		if n := queries.Load(); n != 0 {
			t.Errorf("the refused spellings caused %d database statements, want 0", n)
		}
		// The one true spelling works, and a re-signed copy with the claims as numbers too.
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(good.AccessToken)); r.Status != http.StatusOK {
			t.Errorf("the token as issued: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(signed(nil))); r.Status != http.StatusOK {
			t.Errorf("the same claims re-signed: %d %s", r.Status, r.Body)
		}
	})
}

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// respellings returns tok with the last character of its signature changed in the bits that
// decode to nothing: an HS256 signature is 32 bytes, 43 characters, the last of which carries
// 4 bits of the signature and 2 unused ones. A lenient decoder reads all four alike.
func respellings(t *testing.T, tok string) []string {
	t.Helper()
	last := strings.IndexByte(b64url, tok[len(tok)-1])
	if last < 0 || len(strings.Split(tok, ".")[2]) != 43 {
		t.Fatalf("not an HS256 token: %s", tok)
	}
	var out []string
	for k := range 4 {
		if c := last&^3 | k; c != last {
			out = append(out, tok[:len(tok)-1]+string(b64url[c]))
		}
	}
	return out
}
