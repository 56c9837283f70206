// Package jwttest makes and reads JSON Web Tokens the way a test or an attacker does: signed by
// hand (any header, any key) or with golang-jwt, and decoded without being verified. It is a
// leaf package, so the token package's own tests can use it as well as those that start a
// whole server through testenv.
package jwttest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// Parts decodes the header and the claims of a compact JWS without verifying it. Numbers come
// back as json.Number (see Num), so a claim's JSON type can be checked exactly.
func Parts(t testing.TB, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3: %q", len(parts), tok)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("JWT part %d is not base64url: %v", i, err)
		}
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.UseNumber()
		if err := d.Decode(dst); err != nil {
			t.Fatalf("JWT part %d is not a JSON object: %v\n%s", i, err, b)
		}
	}
	return header, claims
}

// Num returns the claim name of claims (as Parts decodes them) as whole seconds, failing the
// test if it is not a whole number.
func Num(t testing.TB, claims map[string]any, name string) int64 {
	t.Helper()
	n, ok := claims[name].(json.Number)
	if !ok {
		t.Fatalf("claim %s = %#v, want a number", name, claims[name])
	}
	v, err := n.Int64()
	if err != nil {
		t.Fatalf("claim %s = %v, want whole seconds", name, n)
	}
	return v
}

// Segment encodes v as JSON in one base64url JWT segment.
func Segment(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HandSign builds header.claims.signature by hand, the signature an HMAC-SHA256 made with key,
// whatever the header says.
func HandSign(t testing.TB, key []byte, header, claims any) string {
	t.Helper()
	signing := Segment(t, header) + "." + Segment(t, claims)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Sign signs claims with golang-jwt's method and key; header's entries are added to the header
// the library writes (alg and typ), replacing its own.
func Sign(t testing.TB, method jwt.SigningMethod, key any, header, claims map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, jwt.MapClaims(claims))
	maps.Copy(tok.Header, header)
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// With returns a copy of m with change applied: a nil value deletes its key.
func With(m, change map[string]any) map[string]any {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range change {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}
