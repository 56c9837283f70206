package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/testenv/jwttest"
)

// serviceUserJSON is a service user as the API returns it.
type serviceUserJSON struct {
	ID          int64                `json:"id"`
	Name        string               `json:"name"`
	Description string               `json:"description"`
	Scopes      []string             `json:"scopes"`
	Workloads   []string             `json:"workloads"`
	Disabled    bool                 `json:"disabled"`
	Created     string               `json:"created"`
	CreatedBy   string               `json:"createdBy"`
	TokenCount  int64                `json:"tokenCount"`
	LastUsed    *string              `json:"lastUsed"`
	NeedsReview bool                 `json:"needsReview"`
	Tokens      []testenv.TokenEntry `json:"tokens"`
}

func suPath(id int64) string { return "/api/service-users/" + strconv.FormatInt(id, 10) }

// createSU creates a service user as admin, failing the test unless the answer is 201.
func createSU(t *testing.T, e *testenv.Env, admin testenv.Session, body map[string]any) serviceUserJSON {
	t.Helper()
	r := e.Do(http.MethodPost, "/api/service-users", body, e.As(admin))
	if r.Status != http.StatusCreated {
		t.Fatalf("create service user %v: %d %s", body, r.Status, r.Body)
	}
	var u serviceUserJSON
	r.JSON(t, &u)
	return u
}

// patchSU changes a service user as admin, failing the test unless the answer is 200.
func patchSU(t *testing.T, e *testenv.Env, admin testenv.Session, id int64, body map[string]any) serviceUserJSON {
	t.Helper()
	r := e.Do(http.MethodPatch, suPath(id), body, e.As(admin))
	if r.Status != http.StatusOK {
		t.Fatalf("patch service user %d %v: %d %s", id, body, r.Status, r.Body)
	}
	var u serviceUserJSON
	r.JSON(t, &u)
	return u
}

func getSU(t *testing.T, e *testenv.Env, admin testenv.Session, id int64) serviceUserJSON {
	t.Helper()
	r := e.Do(http.MethodGet, suPath(id), nil, e.As(admin))
	if r.Status != http.StatusOK {
		t.Fatalf("get service user %d: %d %s", id, r.Status, r.Body)
	}
	var u serviceUserJSON
	r.JSON(t, &u)
	return u
}

// ciRun is a build of workload with the given coverage, started at the test clock's epoch.
func ciRun(id, workload string, coverage float64) map[string]any {
	start := testenv.Epoch.Add(-time.Hour)
	return map[string]any{
		"id": id, "workload": workload, "pipeline": "main-ci", "kind": "build", "status": "success",
		"branch": "main", "commit": "0123456789abcdef0123456789abcdef01234567",
		"startedAt": start.Format(time.RFC3339), "finishedAt": start.Add(5 * time.Minute).Format(time.RFC3339),
		"coverage": coverage,
	}
}

func record(e *testenv.Env, opt testenv.Opt, body map[string]any) *testenv.Response {
	return e.Do(http.MethodPost, "/api/pipeline/runs", body, opt)
}

// wantForbiddenWorkload checks a 403 workload_forbidden that names the workload.
func wantForbiddenWorkload(t *testing.T, r *testenv.Response, workload string) {
	t.Helper()
	p := testenv.WantProblem(t, r, http.StatusForbidden)
	if p.Code != "workload_forbidden" || !strings.Contains(p.Detail, `"`+workload+`"`) {
		t.Errorf("want workload_forbidden naming %q, got %s %q", workload, p.Code, p.Detail)
	}
}

func workloadsOf(t *testing.T, e *testenv.Env, opt testenv.Opt) []string {
	t.Helper()
	r := e.Do(http.MethodGet, "/api/workloads", nil, opt)
	if r.Status != http.StatusOK {
		t.Fatalf("workloads: %d %s", r.Status, r.Body)
	}
	var w struct {
		Workloads []string `json:"workloads"`
	}
	r.JSON(t, &w)
	return w.Workloads
}

func runIDsOf(t *testing.T, e *testenv.Env, path string, opt testenv.Opt) []string {
	t.Helper()
	var ids []string
	for _, page := range followPages(t, e, path, opt) {
		for _, x := range page {
			ids = append(ids, x["workload"].(string)+"/"+x["id"].(string))
		}
	}
	slices.Sort(ids)
	return ids
}

func auditActions(t *testing.T, e *testenv.Env, action string) []audit.Event {
	t.Helper()
	evs, err := e.Server.Audit.List(context.Background(), audit.Query{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestServiceUsersAPI: create, list, get, change and delete service users, with the rules of
// their fields, administrators only, every change audited.
func TestServiceUsersAPI(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {

		u := createSU(t, e, admin, map[string]any{
			"name": "team-a-ci", "description": "Team A pipelines", "scopes": []string{"pipeline:write", "metrics:read"},
			"workloads": []string{"team-a-mobile", "team-a", "team-a"},
		})
		if u.ID < 1 || u.Name != "team-a-ci" || u.Description != "Team A pipelines" || strings.Join(u.Scopes, " ") != "metrics:read pipeline:write" ||
			strings.Join(u.Workloads, " ") != "team-a team-a-mobile" || u.Disabled || u.Created != testenv.Epoch.Format(testenv.TimeFormat) ||
			u.CreatedBy != "admin@example.com" || u.TokenCount != 0 || u.LastUsed != nil || u.NeedsReview {
			t.Errorf("created %+v", u)
		}
		// Read-only without workloads: every workload, the default scope.
		reader := createSU(t, e, admin, map[string]any{"name": "dashboards"})
		if strings.Join(reader.Scopes, " ") != "metrics:read" || strings.Join(reader.Workloads, " ") != "*" {
			t.Errorf("defaults: %+v", reader)
		}
		// pipeline:write on every workload only when "*" is sent on purpose.
		if w := createSU(t, e, admin, map[string]any{"name": "platform", "scopes": []string{"pipeline:write"}, "workloads": []string{"*"}}); strings.Join(w.Workloads, "") != "*" {
			t.Errorf("wildcard writer: %+v", w)
		}

		for _, tc := range []struct {
			body       map[string]any
			status     int
			code, says string
		}{
			{map[string]any{"name": "writer", "scopes": []string{"pipeline:write"}}, 400, "workloads_required", "workloads"},
			{map[string]any{"name": "team-a-ci"}, 409, "conflict", "exists already"},
			{map[string]any{"name": "  "}, 400, "invalid_field", "name is required"},
			{map[string]any{"description": "no name"}, 400, "invalid_field", "name is required"},
			{map[string]any{"name": strings.Repeat("x", 101)}, 400, "invalid_field", "at most 100"},
			{map[string]any{"name": "evil\u202Eexe"}, 400, "invalid_field", "visible characters"},
			{map[string]any{"name": "x", "workloads": []string{}}, 400, "invalid_field", "at least one workload"},
			{map[string]any{"name": "x", "workloads": []string{"*", "team-a"}}, 400, "invalid_field", "not both"},
			{map[string]any{"name": "x", "workloads": []string{"team a!"}}, 400, "invalid_field", "not a workload name"},
			{map[string]any{"name": "x", "scopes": []string{}}, 400, "invalid_field", "at least one"},
			{map[string]any{"name": "x", "scopes": []string{"admin"}}, 400, "invalid_field", "unknown scope"},
			{map[string]any{"name": "x", "description": strings.Repeat("d", 501)}, 400, "invalid_field", "at most 500"},
			{map[string]any{"name": "x", "role": "admin"}, 400, "unknown_field", "role"},
		} {
			p := testenv.WantProblem(t, e.Do(http.MethodPost, "/api/service-users", tc.body, e.As(admin)), tc.status)
			if p.Code != tc.code || !strings.Contains(p.Detail, tc.says) {
				t.Errorf("POST %v: %s %q, want %s saying %q", tc.body, p.Code, p.Detail, tc.code, tc.says)
			}
		}

		// The list: by name, paged, counted, filtered.
		for i := range 3 {
			createSU(t, e, admin, map[string]any{"name": fmt.Sprintf("nightly-%d", i)})
		}
		var names []string
		for _, page := range followPages(t, e, "/api/service-users?limit=2", e.As(admin)) {
			if len(page) > 2 {
				t.Errorf("page of %d with limit 2", len(page))
			}
			for _, x := range page {
				names = append(names, x["name"].(string))
			}
		}
		if got := strings.Join(names, ","); got != "dashboards,nightly-0,nightly-1,nightly-2,platform,team-a-ci" {
			t.Errorf("service users by name: %s", got)
		}
		r := e.Do(http.MethodGet, "/api/service-users?name=NIGHT&limit=2", nil, e.As(admin))
		if r.Status != http.StatusOK || r.Header.Get("X-Total-Count") != "3" || r.Header.Get("Link") == "" {
			t.Errorf("filtered list: %d total %q link %q", r.Status, r.Header.Get("X-Total-Count"), r.Header.Get("Link"))
		}
		cursor := cursorOf(t, e, "/api/service-users?name=night&limit=1", e.As(admin))
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/service-users?limit=1&cursor="+cursor, nil, e.As(admin)), http.StatusBadRequest) // another filter's cursor
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/service-users?limit=0", nil, e.As(admin)), http.StatusBadRequest)

		// One, with its active tokens.
		tok := e.CreateToken(admin, map[string]any{"subject": "team-a-ci", "scopes": []string{"pipeline:write"}})
		revoked := e.CreateToken(admin, map[string]any{"subject": "team-a-ci"})
		if r := e.Do(http.MethodDelete, "/api/tokens/"+revoked.TokenID, nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d", r.Status)
		}
		if r := record(e, testenv.Bearer(tok.AccessToken), ciRun("r1", "team-a", 90)); r.Status != http.StatusCreated {
			t.Fatalf("record: %d %s", r.Status, r.Body)
		}
		e.Flush()
		got := getSU(t, e, admin, u.ID)
		if got.TokenCount != 1 || len(got.Tokens) != 1 || got.Tokens[0].TokenID != tok.TokenID || got.Tokens[0].Sub != "team-a-ci" ||
			got.LastUsed == nil || *got.LastUsed != testenv.Epoch.Format(testenv.TimeFormat) {
			t.Errorf("service user with its tokens: %+v", got)
		}
		for _, path := range []string{suPath(999999), "/api/service-users/abc", "/api/service-users/-1", "/api/service-users/0"} {
			testenv.WantProblem(t, e.Do(http.MethodGet, path, nil, e.As(admin)), http.StatusNotFound)
		}

		// Changes: each field, with its before and after in the audit log.
		changed := patchSU(t, e, admin, u.ID, map[string]any{"description": "Team A, web only", "workloads": []string{"team-a"}})
		if changed.Description != "Team A, web only" || strings.Join(changed.Workloads, " ") != "team-a" || strings.Join(changed.Scopes, " ") != "metrics:read pipeline:write" || changed.TokenCount != 1 {
			t.Errorf("patched: %+v", changed)
		}
		for _, tc := range []struct {
			body map[string]any
			says string
		}{
			{map[string]any{"scopes": []string{}}, "at least one"},
			{map[string]any{"workloads": []string{}}, "at least one workload"},
			{map[string]any{"description": "line\nbreak"}, "visible characters"},
			{map[string]any{"name": "renamed"}, "unknown field"},
		} {
			if p := testenv.WantProblem(t, e.Do(http.MethodPatch, suPath(u.ID), tc.body, e.As(admin)), http.StatusBadRequest); !strings.Contains(p.Detail, tc.says) {
				t.Errorf("PATCH %v: %q, want it to say %q", tc.body, p.Detail, tc.says)
			}
		}
		// Granting pipeline:write to a service user that reads every workload needs "*" on purpose.
		p := testenv.WantProblem(t, e.Do(http.MethodPatch, suPath(reader.ID), map[string]any{"scopes": []string{"metrics:read", "pipeline:write"}}, e.As(admin)), http.StatusBadRequest)
		if p.Code != "workloads_required" {
			t.Errorf("granting pipeline:write on every workload unasked: %s %q", p.Code, p.Detail)
		}
		patchSU(t, e, admin, reader.ID, map[string]any{"scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"*"}})
		testenv.WantProblem(t, e.Do(http.MethodPatch, suPath(999999), map[string]any{"disabled": true}, e.As(admin)), http.StatusNotFound)

		if d := patchSU(t, e, admin, u.ID, map[string]any{"disabled": true}); !d.Disabled {
			t.Errorf("not disabled: %+v", d)
		}
		patchSU(t, e, admin, u.ID, map[string]any{"disabled": false})
		updated := auditActions(t, e, "service_user.updated")
		if len(updated) != 2 || updated[1].Target != "team-a-ci" || updated[1].Actor != "admin@example.com" {
			t.Fatalf("service_user.updated events: %+v", updated)
		}
		before, after := updated[1].Details["before"].(map[string]any), updated[1].Details["after"].(map[string]any)
		if before["description"] != "Team A pipelines" || after["description"] != "Team A, web only" ||
			fmt.Sprint(before["workloads"]) != "[team-a team-a-mobile]" || fmt.Sprint(after["workloads"]) != "[team-a]" {
			t.Errorf("before → after: %v → %v", before, after)
		}
		if d, en := auditActions(t, e, "service_user.disabled"), auditActions(t, e, "service_user.enabled"); len(d) != 1 || len(en) != 1 ||
			d[0].Details["after"].(map[string]any)["disabled"] != true || en[0].Details["before"].(map[string]any)["disabled"] != true {
			t.Errorf("disabled %+v, enabled %+v", d, en)
		}
		if c := auditActions(t, e, "service_user.created"); len(c) != 6 || c[len(c)-1].Target != "team-a-ci" || c[len(c)-1].Details["scopes"] == nil {
			t.Errorf("service_user.created events: %+v", c)
		}

		// Deletion: refused while it has an active token, unless they go with it.
		p = testenv.WantProblem(t, e.Do(http.MethodDelete, suPath(u.ID), nil, e.As(admin)), http.StatusConflict)
		if p.Code != "service_user_has_tokens" || !strings.Contains(p.Detail, "revokeTokens=true") {
			t.Errorf("delete with tokens: %s %q", p.Code, p.Detail)
		}
		testenv.WantProblem(t, e.Do(http.MethodDelete, suPath(u.ID)+"?revokeTokens=yes", nil, e.As(admin)), http.StatusBadRequest)
		if r := e.Do(http.MethodGet, "/api/tokens/self", nil, testenv.Bearer(tok.AccessToken)); r.Status != http.StatusOK {
			t.Fatalf("a refused deletion changed the token: %d", r.Status)
		}
		if r := e.Do(http.MethodDelete, suPath(u.ID)+"?revokeTokens=true", nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("delete with revokeTokens: %d %s", r.Status, r.Body)
		}
		testenv.WantInvalidToken(t, e.Do(http.MethodGet, "/api/tokens/self", nil, testenv.Bearer(tok.AccessToken)), tok.AccessToken)
		testenv.WantProblem(t, e.Do(http.MethodGet, suPath(u.ID), nil, e.As(admin)), http.StatusNotFound)
		testenv.WantProblem(t, e.Do(http.MethodDelete, suPath(u.ID), nil, e.As(admin)), http.StatusNotFound)
		if del := auditActions(t, e, "service_user.deleted"); len(del) != 1 || del[0].Details["revokedTokens"] != float64(1) {
			t.Errorf("service_user.deleted: %+v", del)
		}
		for _, l := range e.ListTokens(admin) {
			if l.Sub == "team-a-ci" {
				t.Errorf("a token of the deleted service user is still listed: %+v", l)
			}
		}
		// Without tokens it just goes; its name can be used again.
		if r := e.Do(http.MethodDelete, suPath(reader.ID), nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Errorf("delete without tokens: %d %s", r.Status, r.Body)
		}
		if again := createSU(t, e, admin, map[string]any{"name": "team-a-ci", "workloads": []string{"team-a"}}); again.ID == u.ID {
			t.Errorf("the new team-a-ci has the deleted one's id")
		}

		// Administrators only.
		viewer := e.SignIn("viewer@example.com", false)
		svc := e.CreateToken(admin, map[string]any{"subject": "nightly-0"})
		for _, c := range []struct{ method, path string }{
			{http.MethodGet, "/api/service-users"}, {http.MethodPost, "/api/service-users"}, {http.MethodGet, suPath(1)},
			{http.MethodPatch, suPath(1)}, {http.MethodDelete, suPath(1)},
		} {
			body := map[string]any{"name": "x"}
			testenv.WantProblem(t, e.Do(c.method, c.path, body, testenv.Bearer(svc.AccessToken)), http.StatusForbidden)
			testenv.WantProblem(t, e.Do(c.method, c.path, body, e.As(viewer)), http.StatusForbidden)
			testenv.WantProblem(t, e.Do(c.method, c.path, body), http.StatusUnauthorized)
			if c.method != http.MethodGet {
				testenv.WantProblem(t, e.Do(c.method, c.path, body, testenv.Cookie(admin)), http.StatusForbidden) // no CSRF token
			}
		}
	})
}

// TestTokensBelongToServiceUsers: POST /api/tokens {"subject": "x"} keeps working, for the
// service user x, created when missing; a token's scopes narrow its service user's.
func TestTokensBelongToServiceUsers(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {

		// The seed's call: a read-only service user made on the way, every workload.
		first := e.CreateToken(admin, map[string]any{"subject": "ci-pipeline"})
		if _, claims := jwttest.Parts(t, first.AccessToken); claims["sub"] != "ci-pipeline" || claims["scope"] != "metrics:read" {
			t.Errorf("claims %v", claims)
		}
		byName := func(name string) serviceUserJSON {
			t.Helper()
			r := e.Do(http.MethodGet, "/api/service-users?name="+name, nil, e.As(admin))
			var users []serviceUserJSON
			r.JSON(t, &users)
			if len(users) != 1 {
				t.Fatalf("service users named %s: %s", name, r.Body)
			}
			return users[0]
		}
		ci := byName("ci-pipeline")
		if strings.Join(ci.Workloads, "") != "*" || strings.Join(ci.Scopes, " ") != "metrics:read" || ci.TokenCount != 1 || ci.CreatedBy != "admin@example.com" {
			t.Fatalf("service user made for the token: %+v", ci)
		}
		var listed []struct {
			TokenID       string `json:"tokenId"`
			ServiceUserID int64  `json:"serviceUserId"`
		}
		e.Do(http.MethodGet, "/api/tokens", nil, e.As(admin)).JSON(t, &listed)
		if len(listed) != 1 || listed[0].TokenID != first.TokenID || listed[0].ServiceUserID != ci.ID {
			t.Errorf("token list %+v, service user %d", listed, ci.ID)
		}
		// A second token for it: the same service user.
		e.CreateToken(admin, map[string]any{"subject": "ci-pipeline"})
		if got := getSU(t, e, admin, ci.ID); got.TokenCount != 2 || len(got.Tokens) != 2 {
			t.Errorf("two tokens: %+v", got)
		}

		// pipeline:write for a new service user must say which workloads.
		p := testenv.WantProblem(t, e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "deployer", "scopes": []string{"pipeline:write"}}, e.As(admin)), http.StatusBadRequest)
		if p.Code != "workloads_required" || !strings.Contains(p.Detail, `"workloads" is required`) {
			t.Errorf("pipeline:write without workloads: %s %q", p.Code, p.Detail)
		}
		deployer := e.CreateToken(admin, map[string]any{"subject": "deployer", "scopes": []string{"pipeline:write", "metrics:read"}, "workloads": []string{"shop"}})
		if r := record(e, testenv.Bearer(deployer.AccessToken), ciRun("d1", "shop", 70)); r.Status != http.StatusCreated {
			t.Errorf("record into its workload: %d %s", r.Status, r.Body)
		}
		// Narrowing is allowed; widening and other workloads are not.
		readOnly := e.CreateToken(admin, map[string]any{"subject": "deployer", "workloads": []string{"shop"}})
		testenv.WantProblem(t, record(e, testenv.Bearer(readOnly.AccessToken), ciRun("d2", "shop", 70)), http.StatusForbidden)
		p = testenv.WantProblem(t, e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "ci-pipeline", "scopes": []string{"pipeline:write"}}, e.As(admin)), http.StatusBadRequest)
		if p.Code != "scopes_too_wide" || !strings.Contains(p.Detail, "never widen") {
			t.Errorf("widening: %s %q", p.Code, p.Detail)
		}
		p = testenv.WantProblem(t, e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "deployer", "workloads": []string{"*"}}, e.As(admin)), http.StatusBadRequest)
		if !strings.Contains(p.Detail, "PATCH /api/service-users/") {
			t.Errorf("other workloads on a token: %q", p.Detail)
		}
		writeOnly := createSU(t, e, admin, map[string]any{"name": "writer-only", "scopes": []string{"pipeline:write"}, "workloads": []string{"shop"}})
		p = testenv.WantProblem(t, e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "writer-only"}, e.As(admin)), http.StatusBadRequest)
		if p.Code != "scopes_too_wide" || !strings.Contains(p.Detail, "default scope") {
			t.Errorf("default scope the service user lacks: %s %q", p.Code, p.Detail)
		}
		// A disabled service user gets no new token.
		patchSU(t, e, admin, writeOnly.ID, map[string]any{"disabled": true})
		p = testenv.WantProblem(t, e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "writer-only", "scopes": []string{"pipeline:write"}}, e.As(admin)), http.StatusConflict)
		if !strings.Contains(p.Detail, "disabled") {
			t.Errorf("token for a disabled service user: %q", p.Detail)
		}
		// Refused requests made neither tokens nor service users.
		if got := len(e.ListTokens(admin)); got != 4 {
			t.Errorf("%d tokens, want 4", got)
		}
		if r := e.Do(http.MethodGet, "/api/service-users", nil, e.As(admin)); r.Header.Get("X-Total-Count") != "3" {
			t.Errorf("service users: %s %s", r.Header.Get("X-Total-Count"), r.Body)
		}
		// /api/tokens/self tells the scopes in effect: the token's its service user still holds.
		patchSU(t, e, admin, byName("deployer").ID, map[string]any{"scopes": []string{"pipeline:write"}})
		var self map[string]any
		sr := e.Do(http.MethodGet, "/api/tokens/self", nil, testenv.Bearer(deployer.AccessToken))
		sr.JSON(t, &self)
		if sr.Status != http.StatusOK || fmt.Sprint(self["scopes"]) != "[pipeline:write]" || self["sub"] != "deployer" {
			t.Errorf("self: %d %s", sr.Status, sr.Body)
		}
	})
}

// TestServiceUserDecidesWhatItsTokensMayDo: a token records into and reads its service user's
// workloads only, and a change of the service user (workloads, scopes, disabled) decides its
// next call without touching the token. Administrators see everything.
func TestServiceUserDecidesWhatItsTokensMayDo(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		asAdmin := e.As(admin)
		su := createSU(t, e, admin, map[string]any{"name": "team-a-ci", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"team-a", "team-a-mobile"}})
		tok := e.CreateToken(admin, map[string]any{"subject": "team-a-ci", "scopes": []string{"metrics:read", "pipeline:write"}})
		bearer := testenv.Bearer(tok.AccessToken)

		// An administrator records anywhere (and may create workloads).
		if r := record(e, asAdmin, ciRun("b1", "team-b", 50)); r.Status != http.StatusCreated {
			t.Fatalf("admin records: %d %s", r.Status, r.Body)
		}
		r := record(e, bearer, ciRun("a1", "team-a", 80))
		if r.Status != http.StatusCreated {
			t.Fatalf("record into its workload: %d %s", r.Status, r.Body)
		}
		var stored map[string]any
		r.JSON(t, &stored)
		if stored["serviceUser"] != "team-a-ci" || stored["recordedBy"] != "token:"+tok.TokenID {
			t.Errorf("the run does not name its service user: %s", r.Body)
		}
		wantForbiddenWorkload(t, record(e, bearer, ciRun("x1", "team-b", 10)), "team-b")
		wantForbiddenWorkload(t, record(e, bearer, ciRun("x1", "junk-1", 10)), "junk-1")
		// An invalid name is still the validation's 400, not a 403.
		testenv.WantProblem(t, record(e, bearer, ciRun("x1", "bad name!", 10)), http.StatusBadRequest)

		// Reading: lists show its workloads only; naming another one is 403.
		if got := strings.Join(workloadsOf(t, e, bearer), ","); got != "team-a" {
			t.Errorf("its workloads: %s", got)
		}
		if got := strings.Join(workloadsOf(t, e, asAdmin), ","); got != "team-a,team-b" {
			t.Errorf("the administrator's workloads: %s (junk-1 must not exist)", got)
		}
		if got := strings.Join(runIDsOf(t, e, "/api/pipeline/runs", bearer), ","); got != "team-a/a1" {
			t.Errorf("its runs: %s", got)
		}
		if got := strings.Join(runIDsOf(t, e, "/api/pipeline/runs?workload=team-a", bearer), ","); got != "team-a/a1" {
			t.Errorf("its runs filtered: %s", got)
		}
		if got := strings.Join(runIDsOf(t, e, "/api/pipeline/runs", asAdmin), ","); got != "team-a/a1,team-b/b1" {
			t.Errorf("the administrator's runs: %s", got)
		}
		if got := strings.Join(runIDsOf(t, e, "/api/pipeline/runs?serviceUser=team-a-ci&limit=1", asAdmin), ","); got != "team-a/a1" {
			t.Errorf("the service user's runs: %s", got)
		}
		wantForbiddenWorkload(t, e.Do(http.MethodGet, "/api/pipeline/runs?workload=team-b", nil, bearer), "team-b")
		query := func(workloads ...string) map[string]any {
			return map[string]any{"queries": []string{"code-coverage"}, "workloads": workloads, "dateRange": map[string]string{"start": "2026-03-01", "end": "2026-03-01"}}
		}
		wantForbiddenWorkload(t, e.Do(http.MethodPost, "/api/query", query("team-a", "team-b"), bearer), "team-b")
		// A workload it holds that has no run yet is the usual 400, not a 403.
		if p := testenv.WantProblem(t, e.Do(http.MethodPost, "/api/query", query("team-a-mobile"), bearer), http.StatusBadRequest); p.Code != "unknown_workload" {
			t.Errorf("its workload without runs: %s", p.Code)
		}
		if r := e.Do(http.MethodPost, "/api/query", query("team-a"), bearer); r.Status != http.StatusOK {
			t.Errorf("query its workload: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodPost, "/api/query", query("team-a", "team-b"), asAdmin); r.Status != http.StatusOK {
			t.Errorf("the administrator's query: %d %s", r.Status, r.Body)
		}

		// Other workloads: the very next call follows, the token untouched.
		patchSU(t, e, admin, su.ID, map[string]any{"workloads": []string{"team-b"}})
		wantForbiddenWorkload(t, record(e, bearer, ciRun("a2", "team-a", 80)), "team-a")
		if r := record(e, bearer, ciRun("b2", "team-b", 60)); r.Status != http.StatusCreated {
			t.Errorf("record into its new workload: %d %s", r.Status, r.Body)
		}
		if got := strings.Join(runIDsOf(t, e, "/api/pipeline/runs", bearer), ","); got != "team-b/b1,team-b/b2" {
			t.Errorf("runs after the change: %s", got)
		}
		// Fewer scopes.
		patchSU(t, e, admin, su.ID, map[string]any{"scopes": []string{"metrics:read"}})
		if p := testenv.WantProblem(t, record(e, bearer, ciRun("b3", "team-b", 60)), http.StatusForbidden); p.Code != "scope_missing" || !strings.Contains(p.Detail, "service user") {
			t.Errorf("scope taken from the service user: %s %q", p.Code, p.Detail)
		}
		// Disabled: every call refused, until enabled again.
		patchSU(t, e, admin, su.ID, map[string]any{"disabled": true, "scopes": []string{"metrics:read", "pipeline:write"}})
		for _, r := range []*testenv.Response{
			e.Do(http.MethodGet, "/api/system/config", nil, bearer), record(e, bearer, ciRun("b3", "team-b", 60)),
			e.Do(http.MethodGet, "/api/tokens/self", nil, bearer),
		} {
			if p := testenv.WantProblem(t, r, http.StatusForbidden); p.Code != "service_user_disabled" {
				t.Errorf("disabled: %s %q", p.Code, p.Detail)
			}
		}
		patchSU(t, e, admin, su.ID, map[string]any{"disabled": false})
		if r := record(e, bearer, ciRun("b3", "team-b", 60)); r.Status != http.StatusCreated {
			t.Errorf("enabled again: %d %s", r.Status, r.Body)
		}
		// "*" sent on purpose: every workload, a new one created on first use.
		patchSU(t, e, admin, su.ID, map[string]any{"workloads": []string{"*"}})
		if r := record(e, bearer, ciRun("c1", "team-c", 60)); r.Status != http.StatusCreated {
			t.Errorf("record with every workload: %d %s", r.Status, r.Body)
		}
		if got := strings.Join(workloadsOf(t, e, bearer), ","); got != "team-a,team-b,team-c" {
			t.Errorf("every workload: %s", got)
		}
		// Its recent runs, as its page in the portal lists them, a page at a time.
		if got := strings.Join(runIDsOf(t, e, "/api/pipeline/runs?serviceUser=team-a-ci&limit=2", asAdmin), ","); got != "team-a/a1,team-b/b2,team-b/b3,team-c/c1" {
			t.Errorf("the service user's runs: %s", got)
		}
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/pipeline/runs?serviceUser="+strings.Repeat("x", 101), nil, asAdmin), http.StatusBadRequest)
	})
}

// TestServiceUserChangeReachesEveryInstance runs two servers on one database, the token cached
// by both: a change made through one applies there at once and on the other after one read of
// the feed (the background loop reads it every REVOCATION poll, 250 ms), in both directions.
func TestServiceUserChangeReachesEveryInstance(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		a, b := testenv.StartTwo(t, db)
		if poll := b.Server.Config.RevocationPollInterval; poll > time.Second {
			t.Fatalf("the feed is read every %s: a change would take longer than a second", poll)
		}
		admin := a.SignIn("admin@example.com", true)
		su := createSU(t, a, admin, map[string]any{"name": "ci", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"team-a", "team-b"}})
		tok := a.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"metrics:read", "pipeline:write"}})
		bearer := testenv.Bearer(tok.AccessToken)
		for i, e := range []*testenv.Env{a, b} {
			if r := record(e, bearer, ciRun("warm-"+strconv.Itoa(i), "team-a", 80)); r.Status != http.StatusCreated {
				t.Fatalf("instance %d: %d %s", i, r.Status, r.Body)
			}
		}

		patchSU(t, a, admin, su.ID, map[string]any{"workloads": []string{"team-b"}})
		wantForbiddenWorkload(t, record(a, bearer, ciRun("a1", "team-a", 80)), "team-a")
		// B still has the old version until it reads the feed...
		if r := record(b, bearer, ciRun("b1", "team-a", 80)); r.Status != http.StatusCreated {
			t.Fatalf("B before reading the feed: %d %s", r.Status, r.Body)
		}
		b.Sync() // what B's feed poll does every 250 ms
		// ...and the new one after.
		wantForbiddenWorkload(t, record(b, bearer, ciRun("b2", "team-a", 80)), "team-a")
		if r := record(b, bearer, ciRun("b3", "team-b", 80)); r.Status != http.StatusCreated {
			t.Errorf("B after reading the feed, new workload: %d %s", r.Status, r.Body)
		}

		// Disabled through B: B at once, A after its read.
		patchSU(t, b, admin, su.ID, map[string]any{"disabled": true})
		if p := testenv.WantProblem(t, b.Do(http.MethodGet, "/api/system/config", nil, bearer), http.StatusForbidden); p.Code != "service_user_disabled" {
			t.Errorf("B: %s", p.Code)
		}
		a.Sync()
		if p := testenv.WantProblem(t, a.Do(http.MethodGet, "/api/system/config", nil, bearer), http.StatusForbidden); p.Code != "service_user_disabled" {
			t.Errorf("A after reading the feed: %s", p.Code)
		}
		// Enabled again through A: both accept it again, B after its read.
		patchSU(t, a, admin, su.ID, map[string]any{"disabled": false})
		b.Sync()
		for _, e := range []*testenv.Env{a, b} {
			if r := e.Do(http.MethodGet, "/api/system/config", nil, bearer); r.Status != http.StatusOK {
				t.Errorf("%s after enabling: %d %s", e.URL, r.Status, r.Body)
			}
		}
		// Deleted with its tokens through A: B refuses after its read.
		if r := a.Do(http.MethodDelete, suPath(su.ID)+"?revokeTokens=true", nil, a.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		b.Sync()
		testenv.WantInvalidToken(t, b.Do(http.MethodGet, "/api/system/config", nil, bearer), tok.AccessToken)

		// A service user made on B after A's last read, and its token: A's first use reads it.
		fresh := b.CreateToken(admin, map[string]any{"subject": "made-on-b", "scopes": []string{"pipeline:write"}, "workloads": []string{"team-x"}})
		if r := record(a, testenv.Bearer(fresh.AccessToken), ciRun("x1", "team-x", 80)); r.Status != http.StatusCreated {
			t.Errorf("A, token and service user made on B: %d %s", r.Status, r.Body)
		}
		wantForbiddenWorkload(t, record(a, testenv.Bearer(fresh.AccessToken), ciRun("x2", "team-a", 80)), "team-a")
	})
}

// TestServiceUserTokensCostNoStatementPerRequest counts the database statements of requests
// made with a service user's token: the first use looks the token up once; after that, and
// after a change of the service user read from the feed, requests cost none.
func TestServiceUserTokensCostNoStatementPerRequest(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		var queries atomic.Int64
		clock := testenv.NewClock()
		a := testenv.Start(t, db, testenv.Settings{Clock: clock, Store: store.Options{Queries: &queries}})
		b := testenv.Start(t, db, testenv.Settings{Clock: clock})
		admin := b.SignIn("admin@example.com", true)
		su := createSU(t, b, admin, map[string]any{"name": "ci", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"team-a"}})
		tok := b.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"metrics:read", "pipeline:write"}})
		a.Sync() // A learns of the service user from the feed
		call := func() *testenv.Response {
			return a.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken))
		}
		queries.Store(0)
		for range 101 {
			if r := call(); r.Status != http.StatusOK {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		}
		if n := queries.Load(); n != 1 {
			t.Errorf("101 requests cost %d statements, want 1 (the token's first look-up)", n)
		}
		patchSU(t, b, admin, su.ID, map[string]any{"scopes": []string{"pipeline:write"}})
		a.Sync()
		queries.Store(0)
		for range 100 {
			if p := testenv.WantProblem(t, call(), http.StatusForbidden); p.Code != "scope_missing" {
				t.Fatalf("after the change: %s", p.Code)
			}
		}
		wantForbiddenWorkload(t, record(a, testenv.Bearer(tok.AccessToken), ciRun("r1", "team-b", 10)), "team-b")
		if n := queries.Load(); n != 0 {
			t.Errorf("101 requests after the change cost %d statements, want 0", n)
		}
	})
}

// TestDeleteRun: administrators delete a run (a run recorded by mistake or by a stolen token);
// the metrics follow, the deletion is audited, and nobody else may.
func TestDeleteRun(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		tok := e.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"team-a", "org/app"}})
		bearer := testenv.Bearer(tok.AccessToken)
		for _, b := range []map[string]any{ciRun("good", "team-a", 90), ciRun("bad", "team-a", 10), ciRun("gl/7", "org/app", 50)} {
			if r := record(e, bearer, b); r.Status != http.StatusCreated {
				t.Fatalf("record: %d %s", r.Status, r.Body)
			}
		}
		coverage := func() any {
			t.Helper()
			r := e.Do(http.MethodPost, "/api/query", map[string]any{"queries": []string{"code-coverage"}, "workloads": []string{"team-a"},
				"dateRange": map[string]string{"start": "2026-03-01", "end": "2026-03-01"}}, bearer)
			var q struct {
				Results []struct {
					Points []struct {
						Value any `json:"value"`
					} `json:"points"`
				} `json:"results"`
			}
			r.JSON(t, &q)
			return q.Results[0].Points[0].Value
		}
		if c := coverage(); c != 50.0 {
			t.Fatalf("coverage before: %v", c)
		}
		testenv.WantProblem(t, e.Do(http.MethodDelete, "/api/pipeline/runs/team-a/bad", nil, bearer), http.StatusForbidden)
		testenv.WantProblem(t, e.Do(http.MethodDelete, "/api/pipeline/runs/team-a/bad", nil, e.As(e.SignIn("viewer@example.com", false))), http.StatusForbidden)
		testenv.WantProblem(t, e.Do(http.MethodDelete, "/api/pipeline/runs/team-a/bad", nil, testenv.Cookie(admin)), http.StatusForbidden)
		if r := e.Do(http.MethodDelete, "/api/pipeline/runs/team-a/bad", nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if c := coverage(); c != 90.0 {
			t.Errorf("coverage after deleting the bad run: %v, want 90", c)
		}
		testenv.WantProblem(t, e.Do(http.MethodDelete, "/api/pipeline/runs/team-a/bad", nil, e.As(admin)), http.StatusNotFound)
		testenv.WantProblem(t, e.Do(http.MethodDelete, "/api/pipeline/runs/nowhere/bad", nil, e.As(admin)), http.StatusNotFound)
		// A "/" in a workload and a run id, sent as %2F.
		if r := e.Do(http.MethodDelete, "/api/pipeline/runs/org%2Fapp/gl%2F7", nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Errorf("delete org/app gl/7: %d %s", r.Status, r.Body)
		}
		if got := strings.Join(runIDsOf(t, e, "/api/pipeline/runs", e.As(admin)), ","); got != "team-a/good" {
			t.Errorf("runs left: %s", got)
		}
		// The id freed may be recorded again (a CI system re-running it).
		if r := record(e, bearer, ciRun("bad", "team-a", 85)); r.Status != http.StatusCreated {
			t.Errorf("record the deleted id again: %d %s", r.Status, r.Body)
		}
		evs := auditActions(t, e, "pipeline_run.deleted")
		if len(evs) != 2 || evs[1].Target != "team-a/bad" || evs[1].Actor != "admin@example.com" || evs[1].Details["serviceUser"] != "ci" ||
			evs[1].Details["recordedBy"] != "token:"+tok.TokenID || evs[0].Target != "org/app/gl/7" {
			t.Errorf("pipeline_run.deleted events: %+v", evs)
		}
	})
}

// TestAttackOfOneCITokenOnAnotherTeam replays the attack that made service users necessary: a
// CI token of team B drops team A's coverage from 91 % to 10 %, takes team A's next run ids so
// that its real pipeline gets 409, and fills the dashboard with 50 junk workloads. Each step
// now fails, and team A sees nothing of it.
func TestAttackOfOneCITokenOnAnotherTeam(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		teamA := e.CreateToken(admin, map[string]any{"subject": "team-a-ci", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"team-a"}})
		teamB := e.CreateToken(admin, map[string]any{"subject": "team-b-ci", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"team-b"}})
		a, b := testenv.Bearer(teamA.AccessToken), testenv.Bearer(teamB.AccessToken)
		for i := 1; i <= 3; i++ {
			if r := record(e, a, ciRun("gh-"+strconv.Itoa(i), "team-a", 91)); r.Status != http.StatusCreated {
				t.Fatalf("team A records: %d %s", r.Status, r.Body)
			}
		}
		if r := record(e, b, ciRun("gh-1", "team-b", 70)); r.Status != http.StatusCreated {
			t.Fatalf("team B records its own: %d %s", r.Status, r.Body)
		}

		// 1. Drop team A's coverage with a run of 10 %: several times, under fresh ids.
		for i := range 5 {
			wantForbiddenWorkload(t, record(e, b, ciRun("evil-"+strconv.Itoa(i), "team-a", 10)), "team-a")
		}
		// 2. Take team A's next run ids.
		for i := 4; i <= 6; i++ {
			wantForbiddenWorkload(t, record(e, b, ciRun("gh-"+strconv.Itoa(i), "team-a", 91)), "team-a")
		}
		// 3. Fill the dashboard with 50 junk workloads.
		for i := range 50 {
			wantForbiddenWorkload(t, record(e, b, ciRun("junk", fmt.Sprintf("junk-%02d", i), 0)), fmt.Sprintf("junk-%02d", i))
		}
		// 4. Read team A's runs and metrics.
		wantForbiddenWorkload(t, e.Do(http.MethodGet, "/api/pipeline/runs?workload=team-a", nil, b), "team-a")
		wantForbiddenWorkload(t, e.Do(http.MethodPost, "/api/query", map[string]any{"queries": []string{"code-coverage"}, "workloads": []string{"team-a"},
			"dateRange": map[string]string{"start": "2026-03-01", "end": "2026-03-01"}}, b), "team-a")
		if got := strings.Join(runIDsOf(t, e, "/api/pipeline/runs", b), ","); got != "team-b/gh-1" {
			t.Errorf("team B's list shows %s", got)
		}
		// 5. Ask for a token of its own that writes anywhere, with its token: not an administrator.
		testenv.WantProblem(t, e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "team-b-ci", "workloads": []string{"*"}}, b), http.StatusForbidden)
		testenv.WantProblem(t, e.Do(http.MethodPatch, "/api/service-users/1", map[string]any{"workloads": []string{"*"}}, b), http.StatusForbidden)

		// 6. The same through the batch endpoint: its own run is stored, the others are refused one
		// by one, naming their workload.
		r := e.Do(http.MethodPost, "/api/pipeline/runs/batch", map[string]any{"runs": []any{
			ciRun("gh-2", "team-b", 70), ciRun("evil-batch", "team-a", 10), ciRun("gh-7", "team-a", 91), ciRun("junk", "junk-batch", 0),
		}}, b)
		var batch struct {
			Results []struct{ ID, Workload, Status, Error string }
		}
		r.JSON(t, &batch)
		if r.Status != http.StatusOK || len(batch.Results) != 4 || batch.Results[0].Status != "created" {
			t.Fatalf("batch: %d %s", r.Status, r.Body)
		}
		for _, res := range batch.Results[1:] {
			if res.Status != "invalid" || !strings.Contains(res.Error, res.Workload) {
				t.Errorf("batch run %s/%s: %s %q, want invalid naming its workload", res.Workload, res.ID, res.Status, res.Error)
			}
		}

		// Team A: its coverage is still 91 %, its next runs are its own, no workload was added.
		r = e.Do(http.MethodPost, "/api/query", map[string]any{"queries": []string{"code-coverage"}, "workloads": []string{"team-a"},
			"dateRange": map[string]string{"start": "2026-03-01", "end": "2026-03-01"}}, a)
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"value":91,"count":3`) {
			t.Errorf("team A's coverage: %d %s", r.Status, r.Body)
		}
		for i := 4; i <= 6; i++ {
			if r := record(e, a, ciRun("gh-"+strconv.Itoa(i), "team-a", 91)); r.Status != http.StatusCreated {
				t.Errorf("team A's real run gh-%d: %d %s", i, r.Status, r.Body)
			}
		}
		if got := strings.Join(workloadsOf(t, e, e.As(admin)), ","); got != "team-a,team-b" {
			t.Errorf("the dashboard's workloads: %s", got)
		}
	})
}
