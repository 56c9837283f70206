package token

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzParse throws arbitrary bearer strings at the parser: it must never panic, and whatever
// it accepts must be an HS256 token signed by our key, re-encoding to the same signature.
func FuzzParse(f *testing.F) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	keys := NewKeyring("codemetrics", func() time.Time { return now }, testKey)
	valid, err := keys.Sign(&Claims{
		ID: "seed", Subject: "ci", Issuer: "codemetrics", Audience: Audience, TokenUse: UseService, Scope: ScopeMetricsRead,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	})
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	for _, seed := range []string{
		valid, parts[0] + "." + parts[1] + ".", "eyJhbGciOiJub25lIn0." + parts[1] + ".", "", ".", "..", "a.b.c.d",
		strings.Repeat("A", 5000), parts[0] + "." + parts[1] + "." + parts[2] + "=", valid + " ",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := keys.Parse(raw)
		if err != nil {
			return
		}
		tok, _, perr := jwt.NewParser().ParseUnverified(raw, &Claims{})
		if perr != nil || tok.Method.Alg() != "HS256" || tok.Header["kid"] != KeyID(testKey) {
			t.Fatalf("accepted a token that is not ours: %q", raw)
		}
		sig, serr := jwt.SigningMethodHS256.Sign(tok.Raw[:strings.LastIndex(tok.Raw, ".")], testKey)
		if serr != nil || string(sig) != string(tok.Signature) {
			t.Fatalf("accepted a token whose signature is not ours: %q", raw)
		}
		if c.TokenUse != UseService && c.TokenUse != UseSession {
			t.Fatalf("accepted token_use %q", c.TokenUse)
		}
	})
}
