package testenv

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
)

// What the API's answers look like, and the calls most tests make, each done one way.

// TimeFormat formats a time the way the API does (2024-01-15T10:30:00.000Z), for comparisons.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// APITime matches how every time in the API looks.
var APITime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// WantProblem checks that r is a problem+json answer with the given status and one of the
// documented codes, and returns it.
func WantProblem(t testing.TB, r *Response, status int) Problem {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("Content-Type %q, want application/problem+json: %s", ct, r.Body)
	}
	var p Problem
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

// WantInvalidToken checks a bearer token was refused as RFC 6750 says, without the response
// repeating it.
func WantInvalidToken(t testing.TB, r *Response, tok string) {
	t.Helper()
	WantProblem(t, r, http.StatusUnauthorized)
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

// WantJSONAnswer checks what every answer of the API is, whatever was sent: never a 5xx,
// always JSON, and a refusal as problem+json.
func WantJSONAnswer(t testing.TB, r *Response) {
	t.Helper()
	if r.Status >= 500 {
		t.Fatalf("answered %d: %s", r.Status, r.Body)
	}
	if !json.Valid(r.Body) {
		t.Fatalf("answered %d with non-JSON: %s", r.Status, r.Body)
	}
	if r.Status >= 400 && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("answered %d without problem+json: %s", r.Status, r.Body)
	}
}

// TokenEntry is one entry of GET /api/tokens.
type TokenEntry struct {
	TokenID   string   `json:"tokenId"`
	Created   string   `json:"created"`
	Expires   string   `json:"expires"`
	Sub       string   `json:"sub"`
	CreatedBy string   `json:"createdBy"`
	LastUsed  *string  `json:"lastUsed"`
	Scopes    []string `json:"scopes"`

	ServiceUserID    int64   `json:"serviceUserId"`
	Description      string  `json:"description"`
	Status           string  `json:"status"`
	Revoked          *string `json:"revoked"`
	RevokedBy        *string `json:"revokedBy"`
	RevocationReason *string `json:"revocationReason"`
	Replaces         *string `json:"replaces"`
	ReplacedBy       *string `json:"replacedBy"`
	Ends             string  `json:"ends"`
	Stale            bool    `json:"stale"`
}

// TokenIDs returns the ids of the entries, in order.
func TokenIDs(l []TokenEntry) []string {
	out := make([]string, len(l))
	for i, tk := range l {
		out[i] = tk.TokenID
	}
	return out
}

// GetJSON GETs path and decodes the answer into v, failing the test unless it is 200 and JSON.
func (e *Env) GetJSON(path string, v any, opts ...Opt) *Response {
	e.T.Helper()
	r := e.Do(http.MethodGet, path, nil, opts...)
	if r.Status != http.StatusOK {
		e.T.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	r.JSON(e.T, v)
	return r
}

// ListTokens lists the active tokens as admin (the unpaged list).
func (e *Env) ListTokens(admin Session) []TokenEntry {
	e.T.Helper()
	var out []TokenEntry
	e.GetJSON("/api/tokens", &out, e.As(admin))
	return out
}

// ListTokensWith lists tokens as admin with the query given ("status=all"), unpaged.
func (e *Env) ListTokensWith(admin Session, query string) []TokenEntry {
	e.T.Helper()
	var out []TokenEntry
	e.GetJSON("/api/tokens?"+query, &out, e.As(admin))
	return out
}

// RotatedToken is what a rotation returned.
type RotatedToken struct {
	AccessToken       string `json:"accessToken"`
	TokenID           string `json:"tokenId"`
	Expires           string `json:"expires"`
	Replaces          string `json:"replaces"`
	ReplacedTokenEnds string `json:"replacedTokenEnds"`
}

// Rotate rotates a token through the API as admin (body nil: none), failing the test unless it
// answers 201.
func (e *Env) Rotate(admin Session, tokenID string, body any) RotatedToken {
	e.T.Helper()
	r := e.Do(http.MethodPost, "/api/tokens/"+tokenID+"/rotate", body, e.As(admin))
	if r.Status != http.StatusCreated {
		e.T.Fatalf("rotate %s: %d %s", tokenID, r.Status, r.Body)
	}
	var out RotatedToken
	r.JSON(e.T, &out)
	return out
}

// WantNoTokens checks that no active token exists.
func (e *Env) WantNoTokens(admin Session) {
	e.T.Helper()
	if l := e.ListTokens(admin); len(l) != 0 {
		e.T.Errorf("tokens exist that should not: %+v", l)
	}
}

// Revoke revokes a token through the API as admin, failing the test unless it answers 204.
func (e *Env) Revoke(admin Session, tokenID string) {
	e.T.Helper()
	if r := e.Do(http.MethodDelete, "/api/tokens/"+tokenID, nil, e.As(admin)); r.Status != http.StatusNoContent {
		e.T.Fatalf("revoke %s: %d %s", tokenID, r.Status, r.Body)
	}
}

// SessionToken takes a bearer session token from s through the API, as an administrator does
// for curl, failing the test otherwise.
func (e *Env) SessionToken(s Session) string {
	e.T.Helper()
	r := e.Do(http.MethodPost, "/api/auth/session-token", nil, e.As(s))
	var st struct {
		SessionToken string `json:"sessionToken"`
	}
	r.JSON(e.T, &st)
	if r.Status != http.StatusOK || st.SessionToken == "" {
		e.T.Fatalf("session token: %d %s", r.Status, r.Body)
	}
	return st.SessionToken
}

// AuditEvents returns the audit events of action ("" for all), newest first, as many as one
// list may hold.
func (e *Env) AuditEvents(action string) []audit.Event {
	e.T.Helper()
	evs, err := e.Server.Audit.List(context.Background(), audit.Query{Action: action, Limit: audit.MaxList})
	if err != nil {
		e.T.Fatalf("list audit events: %v", err)
	}
	return evs
}

// RequestLog returns the request log line of the request with the given id.
func (e *Env) RequestLog(id string) map[string]any {
	e.T.Helper()
	sc := bufio.NewScanner(strings.NewReader(e.Logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "request" && line["request_id"] == id {
			return line
		}
	}
	e.T.Fatalf("no request log line for request %s", id)
	return nil
}

// Metrics returns what the metrics listener (METRICS_ADDR) serves now.
func (e *Env) Metrics() string {
	rec := httptest.NewRecorder()
	e.Server.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}
