package httpapi_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// apiTime is how every time in the API looks: 2024-01-15T10:30:00.000Z.
var apiTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// apiTimeFormat formats a time the way the API does, for comparisons.
const apiTimeFormat = "2006-01-02T15:04:05.000Z"

// problemBody is an RFC 9457 problem details body.
type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// wantProblem checks that r is a problem+json answer with the given status and returns it.
func wantProblem(t *testing.T, r *testenv.Response, status int) problemBody {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("Content-Type %q, want application/problem+json: %s", ct, r.Body)
	}
	var p problemBody
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("problem body is not JSON: %v\n%s", err, r.Body)
	}
	if p.Status != status || p.Title == "" || p.Detail == "" {
		t.Errorf("problem body lacks status/title/detail or has the wrong status: %s", r.Body)
	}
	if !slices.Contains(apperr.Reasons(), apperr.Reason(p.Code)) {
		t.Errorf("problem body's code %q is none of the documented reasons: %s", p.Code, r.Body)
	}
	return p
}

// tokenEntry is one entry of GET /api/tokens.
type tokenEntry struct {
	TokenID   string   `json:"tokenId"`
	Created   string   `json:"created"`
	Expires   string   `json:"expires"`
	Sub       string   `json:"sub"`
	CreatedBy string   `json:"createdBy"`
	LastUsed  *string  `json:"lastUsed"`
	Scopes    []string `json:"scopes"`
}

// listTokens lists the active tokens as admin, failing the test unless the answer is 200.
func listTokens(t *testing.T, e *testenv.Env, admin testenv.Session) []tokenEntry {
	t.Helper()
	r := e.Do(http.MethodGet, "/api/tokens", nil, e.As(admin))
	if r.Status != http.StatusOK {
		t.Fatalf("list tokens: %d %s", r.Status, r.Body)
	}
	var out []tokenEntry
	r.JSON(t, &out)
	return out
}

// wantNoTokens checks that no active token exists.
func wantNoTokens(t *testing.T, e *testenv.Env, admin testenv.Session) {
	t.Helper()
	if l := listTokens(t, e, admin); len(l) != 0 {
		t.Errorf("tokens exist that should not: %+v", l)
	}
}

// jwtParts decodes the header and the claims of a compact JWS without verifying it.
func jwtParts(t *testing.T, tok string) (header, claims map[string]any) {
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

// seg encodes v as one base64url JWT segment.
func seg(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// handSign builds header.payload.signature by hand, the HMAC-SHA256 signature made with key.
func handSign(t *testing.T, key []byte, header, claims any) string {
	t.Helper()
	signing := seg(t, header) + "." + seg(t, claims)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// problemDetail returns the detail of a problem body, or "" if it is none.
func problemDetail(r *testenv.Response) string {
	var p problemBody
	_ = json.Unmarshal(r.Body, &p)
	return p.Detail
}
