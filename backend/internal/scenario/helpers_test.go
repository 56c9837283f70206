package attack

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func b64json(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// parts decodes a JWT's header and claims without verifying it.
func parts(t *testing.T, tok string) (map[string]any, jwt.MapClaims) {
	t.Helper()
	p := strings.Split(tok, ".")
	var h map[string]any
	var c jwt.MapClaims
	for i, dst := range []any{&h, &c} {
		b, err := base64.RawURLEncoding.DecodeString(p[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return h, c
}

func kidOf(t *testing.T, tok string) string {
	h, _ := parts(t, tok)
	return h["kid"].(string)
}

func with(c jwt.MapClaims, k string, v any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for kk, vv := range c {
		out[kk] = vv
	}
	out[k] = v
	return out
}
