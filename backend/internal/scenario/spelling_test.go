package attack

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/golang-jwt/jwt/v5"
)

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

// TestOneTokenHasOneSpelling sends a valid token's other spellings (the same signature bytes,
// other unused bits) and correctly signed tokens whose claims have the wrong JSON type: each is
// refused with 401 before any database statement. Before strict decoding, every spelling was a
// working copy of the token that a denylist of values or a cache keyed by value could miss.
func TestOneTokenHasOneSpelling(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		var queries atomic.Int64
		e := testenv.Start(t, db, testenv.Settings{Store: store.Options{Queries: &queries}})
		admin := e.SignIn("admin@example.com", true)
		good := e.CreateToken(admin, map[string]any{"subject": "ci"})
		header, claims := parts(t, good.AccessToken)
		key := []byte(testenv.SigningKey)
		signed := func(change map[string]any) string {
			return forge(t, jwt.SigningMethodHS256, key, map[string]any{"kid": header["kid"]}, changed(claims, change))
		}
		exp := claims["exp"].(float64)
		cases := map[string]string{
			"exp a string":                   signed(map[string]any{"exp": "1999999999"}),
			"exp a string of the real value": signed(map[string]any{"exp": strconv.FormatInt(int64(exp), 10)}),
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

// changed returns a copy of c with change applied.
func changed(c jwt.MapClaims, change map[string]any) jwt.MapClaims {
	out := with(c, "jti", c["jti"])
	for k, v := range change {
		out[k] = v
	}
	return out
}
