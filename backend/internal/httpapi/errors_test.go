package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/testenv/jwttest"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/golang-jwt/jwt/v5"
)

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
			_, claims := jwttest.Parts(t, e.CreateToken(admin, map[string]any{"subject": "forged"}).AccessToken)
			return jwttest.HandSign(t, []byte("someone-else's-key-0123456789-abcdefghijklmnop"),
				map[string]any{"alg": "HS256", "typ": "JWT", "kid": token.KeyID([]byte(testenv.SigningKey))}, claims)
		}
		tok := func(body map[string]any) string { return e.CreateToken(admin, body).AccessToken }
		revoked := e.CreateToken(admin, map[string]any{"subject": "revoked"})
		e.Revoke(admin, revoked.TokenID)
		sessionToken := e.SessionToken(admin)
		ended := e.SignIn("ended@example.com", true)
		endedToken := e.SessionToken(ended)
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
			{"session ended", http.MethodGet, "/api/tokens", nil, []testenv.Opt{testenv.Bearer(endedToken)}, 401, "session_ended"},
			{"scope missing", http.MethodPost, "/api/pipeline/runs", map[string]any{}, []testenv.Opt{testenv.Bearer(tok(map[string]any{"subject": "reader", "scopes": []string{"metrics:read"}}))}, 403, "scope_missing"},
			{"service token on an administrator's endpoint", http.MethodGet, "/api/tokens", nil, []testenv.Opt{testenv.Bearer(tok(map[string]any{"subject": "ci"}))}, 403, "admin_required"},
			{"service token on a person's endpoint", http.MethodGet, "/api/auth/me", nil, []testenv.Opt{testenv.Bearer(tok(map[string]any{"subject": "me"}))}, 403, "session_required"},
			{"session on /api/tokens/self", http.MethodGet, "/api/tokens/self", nil, []testenv.Opt{testenv.Bearer(sessionToken)}, 403, "service_token_required"},
			{"not an administrator", http.MethodGet, "/api/tokens", nil, []testenv.Opt{e.As(viewer)}, 403, "not_admin"},
			{"no CSRF token", http.MethodPost, "/api/tokens", map[string]any{"subject": "x"}, []testenv.Opt{testenv.Cookie(admin)}, 403, "csrf_invalid"},
			{"no CSRF token on the bulk revocation", http.MethodPost, "/api/tokens/revoke", map[string]any{"ids": []string{"no-such-token"}}, []testenv.Opt{testenv.Cookie(admin)}, 403, "csrf_invalid"},
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
			p := testenv.WantProblem(t, r, tc.status)
			if p.Code != tc.code {
				t.Errorf("%s: code %q, want %q (%s)", tc.name, p.Code, tc.code, r.Body)
			}
			line := e.RequestLog(r.Header.Get("X-Request-Id"))
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
		if got := e.RequestLog(r.Header.Get("X-Request-Id"))["reason"]; got != "sign_in_not_configured" {
			t.Errorf("sign-in without a provider: the log line's reason is %v, want sign_in_not_configured", got)
		}

		// A revocation feed gone stale refuses service tokens with 503, and says why.
		fresh := tok(map[string]any{"subject": "fresh"})
		e.Clock.Advance(11 * time.Second)
		r = e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(fresh))
		if p := testenv.WantProblem(t, r, http.StatusServiceUnavailable); p.Code != "feed_stale" {
			t.Errorf("stale feed: code %q, want feed_stale (%s)", p.Code, r.Body)
		}

		// The auth-failure metric is labelled by the same codes, one refusal each.
		out := e.Metrics()
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

// TestAmbiguousJSONKeysAreRefused: encoding/json matches keys ignoring case and lets the last
// duplicate win, so {"subject":"a","Subject":"b"} reads as "b" to the handler while a reviewer,
// a proxy or a log filter may read "a". Every body that could be read two ways is a 400 naming
// the key, at any depth; nothing is stored.
func TestAmbiguousJSONKeysAreRefused(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t))
	admin := e.SignIn("admin@example.com", true)
	writer := e.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"*"}})
	const run = `"id":"r1","workload":"team","pipeline":"ci","kind":"build","status":"success","branch":"main","commit":"abcdef0","startedAt":"2026-01-01T10:00:00Z","finishedAt":"2026-01-01T10:05:00Z"`
	const rng = `"dateRange":{"start":"2026-01-01","end":"2026-01-31"}`
	for _, tc := range []struct {
		name, path, body, want string
		as                     testenv.Opt
	}{
		{"token: duplicate", "/api/tokens", `{"subject":"a","subject":"b"}`, `"subject" appears twice`, e.As(admin)},
		{"token: case twin", "/api/tokens", `{"subject":"a","Subject":"b"}`, `"subject" and "Subject" differ only in case`, e.As(admin)},
		{"token: wrong case alone", "/api/tokens", `{"SUBJECT":"b"}`, `"SUBJECT" must be spelled "subject"`, e.As(admin)},
		{"token: Unicode fold (long s)", "/api/tokens", `{"ſubject":"b"}`, `must be spelled "subject"`, e.As(admin)},
		{"token: escaped duplicate", "/api/tokens", `{"subject":"a","\u0073ubject":"b"}`, `"subject" appears twice`, e.As(admin)},
		{"token: scopes twice", "/api/tokens", `{"subject":"a","scopes":["metrics:read"],"scopes":["pipeline:write"]}`, `"scopes" appears twice`, e.As(admin)},
		{"run: duplicate", "/api/pipeline/runs", `{` + run + `,"status":"failure"}`, `"status" appears twice`, testenv.Bearer(writer.AccessToken)},
		{"run: nested case twin", "/api/pipeline/runs", `{` + run + `,"tests":{"passed":1,"Passed":2}}`, `"tests.passed" and "tests.Passed" differ only in case`, testenv.Bearer(writer.AccessToken)},
		{"run: nested wrong case", "/api/pipeline/runs", `{` + run + `,"tests":{"Failed":2}}`, `"tests.Failed" must be spelled "tests.failed"`, testenv.Bearer(writer.AccessToken)},
		{"query: duplicate", "/api/query", `{"queries":["code-coverage"],"workloads":["team"],"workloads":["other"],` + rng + `}`, `"workloads" appears twice`, testenv.Bearer(writer.AccessToken)},
		{"query: nested duplicate", "/api/query", `{"queries":["code-coverage"],"workloads":["team"],"dateRange":{"start":"2026-01-01","end":"2026-01-31","end":"2026-12-31"}}`, `"dateRange.end" appears twice`, testenv.Bearer(writer.AccessToken)},
		{"query: wrong case", "/api/query", `{"queries":["code-coverage"],"workloads":["team"],"DateRange":{"start":"2026-01-01","end":"2026-01-31"}}`, `"DateRange" must be spelled "dateRange"`, testenv.Bearer(writer.AccessToken)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.For(t)
			p := testenv.WantProblem(t, e.Do(http.MethodPost, tc.path, tc.body, tc.as), http.StatusBadRequest)
			if !strings.Contains(p.Detail, tc.want) {
				t.Errorf("detail %q, want it to say %s", p.Detail, tc.want)
			}
		})
	}
	// Nothing slipped through: the one token is the writer's, no run was recorded.
	if l := e.ListTokens(admin); len(l) != 1 {
		t.Errorf("tokens after the refusals: %+v", l)
	}
	if r := e.Do(http.MethodGet, "/api/pipeline/runs", nil, testenv.Bearer(writer.AccessToken)); r.Status == http.StatusOK && strings.Contains(string(r.Body), `"r1"`) {
		t.Errorf("a run was recorded: %s", r.Body)
	}
	// The same keys spelled once and as documented still work.
	if r := e.Do(http.MethodPost, "/api/pipeline/runs", `{`+run+`,"tests":{"passed":1,"failed":0,"skipped":0}}`, testenv.Bearer(writer.AccessToken)); r.Status != http.StatusCreated {
		t.Errorf("a well-formed run: %d %s", r.Status, r.Body)
	}
	if r := e.Do(http.MethodPost, "/api/query", `{"queries":["code-coverage"],"workloads":["team"],`+rng+`}`, testenv.Bearer(writer.AccessToken)); r.Status != http.StatusOK {
		t.Errorf("a well-formed query: %d %s", r.Status, r.Body)
	}
}

// TestFieldNamesAreCaseSensitive sends bodies whose field names differ from the document's
// only in case, at the top level and nested: encoding/json took them (201 for "suBjeCt"), and
// the document's names are exact.
func TestFieldNamesAreCaseSensitive(t *testing.T) {
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		tok := e.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"*"}})
		runBody := `{"id":"r1","workload":"team","pipeline":"ci","kind":"build","status":"success","branch":"main","commit":"abcdef1",` +
			`"startedAt":"2026-02-10T08:00:00Z","finishedAt":"2026-02-10T08:05:00Z","tests":{"passed":1,"failed":0,"Skipped":0}}`
		for _, c := range []struct {
			path, body, key string
			opt             testenv.Opt
		}{
			{"/api/tokens", `{"suBjeCt":"ci"}`, `suBjeCt`, e.As(admin)},
			{"/api/tokens", `{"subject":"ci","Scopes":["metrics:read"]}`, `Scopes`, e.As(admin)},
			{"/api/pipeline/runs", runBody, `Skipped`, testenv.Bearer(tok.AccessToken)},
			{"/api/query", `{"queries":["code-coverage"],"workloads":["team"],"dateRange":{"START":"2026-02-10","end":"2026-02-12"}}`, `START`, testenv.Bearer(tok.AccessToken)},
		} {
			r := e.Do(http.MethodPost, c.path, c.body, c.opt)
			if p := testenv.WantProblem(t, r, http.StatusBadRequest); !strings.Contains(p.Detail, c.key) || !strings.Contains(p.Detail, "case-sensitive") {
				t.Errorf("POST %s %s: detail %q does not name %s", c.path, c.body, p.Detail, c.key)
			}
		}
		if l := e.ListTokens(admin); len(l) != 1 {
			t.Errorf("a token was made from a misspelled body: %+v", l)
		}
	})
}
