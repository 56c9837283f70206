package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/golang-jwt/jwt/v5"
)

// requestLog returns the request log line of the request with the given id.
func requestLog(t *testing.T, e *testenv.Env, id string) map[string]any {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(e.Logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "request" && line["request_id"] == id {
			return line
		}
	}
	t.Fatalf("no request log line for request %s", id)
	return nil
}

// TestRefusalCodes sends each refusal through real HTTP and checks that the status, the
// problem body's code, the request log line's reason and, for a 401, the auth-failure metric's
// label all name the same reason.
func TestRefusalCodes(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db, testenv.Settings{Env: map[string]string{"RATE_LIMIT_PER_MINUTE": "1"}})
		ctx := context.Background()
		admin := e.SignIn("admin@example.com", true)
		viewer := e.SignIn("viewer@example.com", false)
		now := e.Clock.Now()
		signed := func(change func(c *token.Claims)) string { // the server's key, claims as we like
			id, _ := token.NewID()
			c := &token.Claims{
				ID: id, Subject: "ci", Issuer: "codemetrics", Audience: token.Audience,
				IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
				TokenUse: token.UseService, Scope: token.ScopeMetricsRead,
			}
			change(c)
			s, err := e.Server.Keys.Sign(c)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		otherKey := func() string {
			_, claims := jwtParts(t, e.CreateToken(admin, map[string]any{"subject": "forged"}).AccessToken)
			return handSign(t, []byte("someone-else's-key-0123456789-abcdefghijklmnop"),
				map[string]any{"alg": "HS256", "typ": "JWT", "kid": token.KeyID([]byte(testenv.SigningKey))}, claims)
		}
		tok := func(body map[string]any) string { return e.CreateToken(admin, body).AccessToken }
		revoked := e.CreateToken(admin, map[string]any{"subject": "revoked"})
		if r := e.Do(http.MethodDelete, "/api/tokens/"+revoked.TokenID, nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		var st struct {
			SessionToken string `json:"sessionToken"`
		}
		e.Do(http.MethodPost, "/api/auth/session-token", nil, e.As(admin)).JSON(t, &st)
		ended := e.SignIn("ended@example.com", true)
		var endedST struct {
			SessionToken string `json:"sessionToken"`
		}
		e.Do(http.MethodPost, "/api/auth/session-token", nil, e.As(ended)).JSON(t, &endedST)
		if err := e.Server.Sessions.End(ctx, ended.ID); err != nil {
			t.Fatal(err)
		}
		limited := tok(map[string]any{"subject": "busy"})
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(limited)); r.Status != http.StatusOK {
			t.Fatalf("first use of a token: %d %s", r.Status, r.Body)
		}
		twoHeaders := func(r *http.Request) {
			r.Header.Add("Authorization", "Bearer a")
			r.Header.Add("Authorization", "Bearer b")
		}

		cases := []struct {
			name         string
			method, path string
			body         any
			opts         []testenv.Opt
			status       int
			code         string
		}{
			{"no credentials", http.MethodGet, "/api/tokens", nil, nil, 401, "credentials_missing"},
			{"not a bearer header", http.MethodGet, "/api/system/config", nil, []testenv.Opt{testenv.Header("Authorization", "Basic YTpi")}, 401, "auth_header_malformed"},
			{"two Authorization headers", http.MethodGet, "/api/system/config", nil, []testenv.Opt{twoHeaders}, 401, "auth_header_repeated"},
			{"not a JWT", http.MethodGet, "/api/system/config", nil, []testenv.Opt{testenv.Bearer("not-a-jwt")}, 401, "token_malformed"},
			{"signed with another key", http.MethodGet, "/api/system/config", nil, []testenv.Opt{testenv.Bearer(otherKey())}, 401, "token_bad_signature"},
			{"no jti", http.MethodGet, "/api/system/config", nil, []testenv.Opt{testenv.Bearer(signed(func(c *token.Claims) { c.ID = "" }))}, 401, "token_invalid"},
			{"expired", http.MethodGet, "/api/system/config", nil, []testenv.Opt{testenv.Bearer(signed(func(c *token.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour)) }))}, 401, "token_expired"},
			{"issued in the future", http.MethodGet, "/api/system/config", nil, []testenv.Opt{testenv.Bearer(signed(func(c *token.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) }))}, 401, "token_not_yet_valid"},
			{"another issuer", http.MethodGet, "/api/system/config", nil, []testenv.Opt{testenv.Bearer(signed(func(c *token.Claims) { c.Issuer = "someone-else" }))}, 401, "token_wrong_issuer"},
			{"another audience", http.MethodGet, "/api/system/config", nil, []testenv.Opt{testenv.Bearer(signed(func(c *token.Claims) { c.Audience = "other-api" }))}, 401, "token_wrong_audience"},
			{"revoked", http.MethodGet, "/api/system/config", nil, []testenv.Opt{testenv.Bearer(revoked.AccessToken)}, 401, "token_revoked"},
			{"never issued", http.MethodGet, "/api/system/config", nil, []testenv.Opt{testenv.Bearer(signed(func(c *token.Claims) {}))}, 401, "token_unknown"},
			{"session ended", http.MethodGet, "/api/tokens", nil, []testenv.Opt{testenv.Bearer(endedST.SessionToken)}, 401, "session_ended"},
			{"scope missing", http.MethodPost, "/api/pipeline/runs", map[string]any{}, []testenv.Opt{testenv.Bearer(tok(map[string]any{"subject": "reader", "scopes": []string{"metrics:read"}}))}, 403, "scope_missing"},
			{"service token on an administrator's endpoint", http.MethodGet, "/api/tokens", nil, []testenv.Opt{testenv.Bearer(tok(map[string]any{"subject": "ci"}))}, 403, "admin_required"},
			{"service token on a person's endpoint", http.MethodGet, "/api/auth/me", nil, []testenv.Opt{testenv.Bearer(tok(map[string]any{"subject": "me"}))}, 403, "session_required"},
			{"session on /api/tokens/self", http.MethodGet, "/api/tokens/self", nil, []testenv.Opt{testenv.Bearer(st.SessionToken)}, 403, "service_token_required"},
			{"not an administrator", http.MethodGet, "/api/tokens", nil, []testenv.Opt{e.As(viewer)}, 403, "not_admin"},
			{"no CSRF token", http.MethodPost, "/api/tokens", map[string]any{"subject": "x"}, []testenv.Opt{testenv.Cookie(admin)}, 403, "csrf_invalid"},
			{"cross-origin", http.MethodPost, "/api/tokens", map[string]any{"subject": "x"}, []testenv.Opt{e.As(admin), testenv.Header("Origin", "https://evil.example")}, 403, "cross_origin"},
			{"rate limited", http.MethodGet, "/api/system/config", nil, []testenv.Opt{testenv.Bearer(limited)}, 429, "rate_limited"},
			{"no such endpoint", http.MethodGet, "/api/nothing-here", nil, nil, 404, "route_not_found"},
			{"no such token", http.MethodDelete, "/api/tokens/no-such-token", nil, []testenv.Opt{e.As(admin)}, 404, "not_found"},
			{"method not allowed", http.MethodPut, "/api/tokens", nil, []testenv.Opt{e.As(admin)}, 405, "method_not_allowed"},
			{"not JSON", http.MethodPost, "/api/tokens", "subject=x", []testenv.Opt{e.As(admin), testenv.Header("Content-Type", "text/plain")}, 415, "unsupported_media_type"},
			{"malformed JSON", http.MethodPost, "/api/tokens", `{"subject":`, []testenv.Opt{e.As(admin)}, 400, "invalid_json"},
			{"unknown field", http.MethodPost, "/api/tokens", map[string]any{"subject": "x", "owner": "me"}, []testenv.Opt{e.As(admin)}, 400, "unknown_field"},
			{"wrong type", http.MethodPost, "/api/tokens", map[string]any{"subject": 1}, []testenv.Opt{e.As(admin)}, 400, "wrong_type"},
			{"key twice in other case", http.MethodPost, "/api/tokens", `{"subject":"a","Subject":"b"}`, []testenv.Opt{e.As(admin)}, 400, "ambiguous_json_key"},
			{"subject missing", http.MethodPost, "/api/tokens", map[string]any{}, []testenv.Opt{e.As(admin)}, 400, "invalid_field"},
			{"limit out of range", http.MethodGet, "/api/tokens?limit=0", nil, []testenv.Opt{e.As(admin)}, 400, "invalid_parameter"},
			{"forged cursor", http.MethodGet, "/api/tokens?cursor=forged", nil, []testenv.Opt{e.As(admin)}, 400, "invalid_cursor"},
			{"body too large", http.MethodPost, "/api/tokens", `{"subject":"` + strings.Repeat("a", 70<<10) + `"}`, []testenv.Opt{e.As(admin)}, 413, "too_large"},
		}
		for _, tc := range cases {
			r := e.Do(tc.method, tc.path, tc.body, tc.opts...)
			p := wantProblem(t, r, tc.status)
			if p.Code != tc.code {
				t.Errorf("%s: code %q, want %q (%s)", tc.name, p.Code, tc.code, r.Body)
			}
			line := requestLog(t, e, r.Header.Get("X-Request-Id"))
			if line["reason"] != tc.code {
				t.Errorf("%s: the log line's reason is %v, want %q", tc.name, line["reason"], tc.code)
			}
			if tc.status == http.StatusUnauthorized && line["auth_failure"] != tc.code {
				t.Errorf("%s: the log line's auth_failure is %v, want %q", tc.name, line["auth_failure"], tc.code)
			}
		}

		// The sign-in pages answer HTML, with the API's status for the same code.
		r := e.Do(http.MethodGet, "/auth/login", nil)
		if r.Status != http.StatusServiceUnavailable || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("sign-in without a provider: %d %s, want an HTML 503", r.Status, r.Header.Get("Content-Type"))
		}
		if got := requestLog(t, e, r.Header.Get("X-Request-Id"))["reason"]; got != "sign_in_not_configured" {
			t.Errorf("sign-in without a provider: the log line's reason is %v, want sign_in_not_configured", got)
		}

		// A revocation feed gone stale refuses service tokens with 503, and says why.
		fresh := tok(map[string]any{"subject": "fresh"})
		e.Clock.Advance(11 * time.Second)
		r = e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(fresh))
		if p := wantProblem(t, r, http.StatusServiceUnavailable); p.Code != "feed_stale" {
			t.Errorf("stale feed: code %q, want feed_stale (%s)", p.Code, r.Body)
		}

		// The auth-failure metric is labelled by the same codes, one refusal each.
		out := scrape(t, e)
		for _, tc := range cases {
			if tc.status != http.StatusUnauthorized {
				continue
			}
			if want := fmt.Sprintf(`codemetrics_auth_failures_total{reason=%q} 1`, tc.code); !strings.Contains(out, want) {
				t.Errorf("%s: metrics lack %s", tc.name, want)
			}
		}
	})
}
