package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/golang-jwt/jwt/v5"
)

// TestMigrationMakesServiceUsersOfExistingTokens upgrades a database an older release left,
// with tokens and runs in it: each subject becomes a service user holding the union of its
// tokens' scopes and every workload, marked for review; every token keeps working with exactly
// what it could do, a revoked one stays revoked, and runs name the service user that recorded them.
func TestMigrationMakesServiceUsersOfExistingTokens(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		old := storeAt(t, db, store.ServiceUsersMigration-1)
		created, expires := testenv.Epoch.Add(-24*time.Hour), testenv.Epoch.Add(30*24*time.Hour)
		legacy := []struct{ id, subject, scopes string }{
			{"ci-read", "ci", "metrics:read"},
			{"ci-write", "ci", "pipeline:write"},
			{"dash", "dashboards", "metrics:read"},
			{"gone", "retired", "metrics:read pipeline:write"},
		}
		conn := old.SQL()
		for _, l := range legacy {
			if _, err := conn.Exec("INSERT INTO service_tokens (id, subject, scopes, created_at, expires_at, created_by) VALUES (?, ?, ?, ?, ?, 'admin@example.com')",
				l.id, l.subject, l.scopes, created.UnixMilli(), expires.UnixMilli()); err != nil {
				t.Fatal(err)
			}
		}
		testenv.Exec(t, conn,
			fmt.Sprintf("UPDATE service_tokens SET revoked_at = %d, revoked_by = 'admin@example.com', revocation_seq = 1 WHERE id = 'gone'", created.UnixMilli()),
			"UPDATE revocation_feed SET seq = 1",
			fmt.Sprintf("INSERT INTO workloads (id, name, created_at) VALUES (1, 'team-a', %d)", created.UnixMilli()),
			fmt.Sprintf("INSERT INTO pipeline_runs (workload_id, run_id, pipeline, kind, status, branch, commit_sha, started_at, finished_at, coverage, recorded_at, recorded_by) VALUES "+
				"(1, 'by-token', 'ci', 'build', 'success', 'main', 'abcdef1', %[1]d, %[1]d, 80, %[1]d, 'token:ci-write'), "+
				"(1, 'by-admin', 'ci', 'build', 'success', 'main', 'abcdef1', %[1]d, %[1]d, 70, %[1]d, 'admin@example.com')", created.UnixMilli()),
		)
		old.Close()

		e := testenv.Start(t, db) // migrates the rest of the way
		admin := e.SignIn("admin@example.com", true)
		keys := token.NewKeyring(e.Server.Config.TokenIssuer, e.Clock.Now, []byte(testenv.SigningKey))
		value := func(id, subject, scopes string) string {
			v, err := keys.Sign(&token.Claims{ID: id, Subject: subject, Issuer: keys.Issuer(), Audience: token.Audience, TokenUse: token.UseService,
				Scope: scopes, IssuedAt: jwt.NewNumericDate(created), ExpiresAt: jwt.NewNumericDate(expires)})
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		bearer := map[string]string{}
		for _, l := range legacy {
			bearer[l.id] = "Bearer " + value(l.id, l.subject, l.scopes)
		}
		do := func(method, path string, body any, auth string) *testenv.Response {
			t.Helper()
			return e.Do(method, path, body, testenv.Header("Authorization", auth))
		}

		var users []struct {
			ID          int64    `json:"id"`
			Name        string   `json:"name"`
			Scopes      []string `json:"scopes"`
			Workloads   []string `json:"workloads"`
			TokenCount  int      `json:"tokenCount"`
			NeedsReview bool     `json:"needsReview"`
			CreatedBy   string   `json:"createdBy"`
		}
		r := e.Do(http.MethodGet, "/api/service-users", nil, e.As(admin))
		r.JSON(t, &users)
		var got []string
		for _, u := range users {
			got = append(got, fmt.Sprintf("%s %v %v tokens:%d review:%v", u.Name, u.Scopes, u.Workloads, u.TokenCount, u.NeedsReview))
		}
		want := []string{
			"ci [metrics:read pipeline:write] [*] tokens:2 review:true",
			"dashboards [metrics:read] [*] tokens:1 review:true",
			"retired [metrics:read pipeline:write] [*] tokens:0 review:true",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("service users after the upgrade:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}

		// Every token does what it did, no more: the write token writes anywhere, the read token
		// of the same service user still cannot write; the revoked one stays revoked.
		if r := do(http.MethodPost, "/api/pipeline/runs", map[string]any{"id": "after", "workload": "team-b", "pipeline": "ci", "kind": "build", "status": "success",
			"branch": "main", "commit": "abcdef1", "startedAt": "2026-03-01T08:00:00Z", "finishedAt": "2026-03-01T08:01:00Z"}, bearer["ci-write"]); r.Status != http.StatusCreated {
			t.Errorf("the pipeline:write token after the upgrade: %d %s", r.Status, r.Body)
		}
		if r := do(http.MethodGet, "/api/pipeline/runs", nil, bearer["ci-read"]); r.Status != http.StatusOK {
			t.Errorf("the metrics:read token after the upgrade: %d %s", r.Status, r.Body)
		} else {
			var runs []map[string]any
			r.JSON(t, &runs)
			by := map[string]any{}
			for _, run := range runs {
				by[run["id"].(string)] = run["serviceUser"]
			}
			if by["by-token"] != "ci" || by["by-admin"] != nil || by["after"] != "ci" || len(by) != 3 {
				t.Errorf("runs name their service user: %v", by)
			}
		}
		if r := do(http.MethodPost, "/api/pipeline/runs", map[string]any{}, bearer["ci-read"]); r.Status != http.StatusForbidden {
			t.Errorf("the metrics:read token writes after the upgrade: %d", r.Status)
		}
		if r := do(http.MethodGet, "/api/system/config", nil, bearer["dash"]); r.Status != http.StatusOK {
			t.Errorf("another subject's token: %d", r.Status)
		}
		if r := do(http.MethodGet, "/api/system/config", nil, bearer["gone"]); r.Status != http.StatusUnauthorized {
			t.Errorf("the revoked token after the upgrade: %d", r.Status)
		}

		// A new token for a subject goes to its service user; an administrator's edit clears the review mark.
		e.CreateToken(admin, map[string]any{"subject": "ci"})
		ci := users[0].ID
		var edited struct {
			NeedsReview bool `json:"needsReview"`
			TokenCount  int  `json:"tokenCount"`
		}
		r = e.Do(http.MethodPatch, fmt.Sprintf("/api/service-users/%d", ci), map[string]any{"workloads": []string{"team-a", "team-b"}}, e.As(admin))
		r.JSON(t, &edited)
		if r.Status != http.StatusOK || edited.NeedsReview || edited.TokenCount != 3 {
			t.Errorf("after the review: %d %s", r.Status, r.Body)
		}
		if r := do(http.MethodGet, "/api/pipeline/runs?workload=team-c", nil, bearer["ci-read"]); r.Status != http.StatusForbidden {
			t.Errorf("the reviewed service user's token reads team-c: %d", r.Status)
		}
		var list []map[string]any
		e.Do(http.MethodGet, "/api/service-users?limit=10", nil, e.As(admin)).JSON(t, &list)
		if len(list) != 3 {
			b, _ := json.Marshal(list)
			t.Errorf("a new token made another service user: %s", b)
		}
	})
}

// TestConcurrentTokensForANewServiceUser issues tokens for one new service user from many
// requests at once: one service user is made, every token belongs to it.
func TestConcurrentTokensForANewServiceUser(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		const n = 8
		var wg sync.WaitGroup
		created := make([]token.Created, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				created[i], errs[i] = e.Server.Tokens.Create(context.Background(), token.CreateRequest{
					Subject: "same", Scopes: []string{token.ScopePipelineWrite}, Workloads: []string{"team-a"},
					CreatedBy: "cli:ops", Audit: audit.CLI("ops"),
				})
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("token %d: %v", i, errs[i])
			}
			if created[i].Token.ServiceUserID != created[0].Token.ServiceUserID {
				t.Errorf("token %d belongs to service user %d, token 0 to %d", i, created[i].Token.ServiceUserID, created[0].Token.ServiceUserID)
			}
		}
		users, err := e.Server.Tokens.ListUsers(context.Background(), token.UserListQuery{})
		if err != nil || len(users) != 1 || users[0].TokenCount != n {
			t.Errorf("service users: %+v, %v", users, err)
		}
	})
}
