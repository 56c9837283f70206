package httpapi_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/config"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

// TestTokenListFilterSortAndCount covers what the portal's table asks of the list: a subject
// filter (any case, wildcards taken literally), soonest-expiry order, paging in that order, and
// a total count.
func TestTokenListFilterSortAndCount(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
		// Lifetimes chosen so that creation order and expiry order differ.
		subjects := map[string]string{"Deploy-Prod": "90d", "deploy-staging": "10d", "metrics_export": "400h", "100%-coverage": "2d", "nightly": "30d"}
		for _, name := range []string{"Deploy-Prod", "deploy-staging", "metrics_export", "100%-coverage", "nightly"} {
			created, err := e.Server.Tokens.Create(t.Context(), tokenRequest(name, subjects[name]))
			if err != nil {
				t.Fatal(err)
			}
			_ = created
			e.Clock.Advance(time.Minute)
		}
		e.Sync()

		get := func(query string) ([]tokenEntry, *testenv.Response) {
			t.Helper()
			r := e.Do(http.MethodGet, "/api/tokens?"+query, nil, e.As(admin))
			if r.Status != http.StatusOK {
				t.Fatalf("GET /api/tokens?%s: %d %s", query, r.Status, r.Body)
			}
			var l []tokenEntry
			r.JSON(t, &l)
			return l, r
		}
		subs := func(l []tokenEntry) string {
			var s []string
			for _, x := range l {
				s = append(s, x.Sub)
			}
			return strings.Join(s, ",")
		}

		if l, r := get("subject=DEPLOY"); subs(l) != "deploy-staging,Deploy-Prod" || r.Header.Get("X-Total-Count") != "2" {
			t.Errorf("subject=DEPLOY: %s (count %s)", subs(l), r.Header.Get("X-Total-Count"))
		}
		if l, _ := get("subject=" + url.QueryEscape("_")); subs(l) != "metrics_export" {
			t.Errorf("_ must match literally: %s", subs(l))
		}
		if l, _ := get("subject=" + url.QueryEscape("%")); subs(l) != "100%-coverage" {
			t.Errorf("%% must match literally: %s", subs(l))
		}
		if l, _ := get("sort=expires"); subs(l) != "100%-coverage,deploy-staging,metrics_export,nightly,Deploy-Prod" {
			t.Errorf("sort=expires: %s", subs(l))
		}

		// Paging in expiry order visits every token once, in order, and keeps the filter.
		var seen []string
		next := "/api/tokens?sort=expires&limit=2"
		for next != "" {
			r := e.Do(http.MethodGet, next, nil, e.As(admin))
			var l []tokenEntry
			r.JSON(t, &l)
			if r.Header.Get("X-Total-Count") != "5" {
				t.Fatalf("X-Total-Count %q on %s", r.Header.Get("X-Total-Count"), next)
			}
			for _, x := range l {
				seen = append(seen, x.Sub)
			}
			next = ""
			if link := r.Header.Get("Link"); link != "" {
				next = strings.TrimSuffix(strings.TrimPrefix(strings.Split(link, ";")[0], "<"), ">")
				if !strings.Contains(next, "sort=expires") {
					t.Fatalf("next link lost the sort: %s", link)
				}
			}
		}
		if strings.Join(seen, ",") != "100%-coverage,deploy-staging,metrics_export,nightly,Deploy-Prod" {
			t.Errorf("paged by expiry: %v", seen)
		}

		for _, bad := range []string{"sort=subject", "subject=" + strings.Repeat("x", 101), "limit=2&cursor=bm9wZQ"} {
			wantProblem(t, e.Do(http.MethodGet, "/api/tokens?"+bad, nil, e.As(admin)), http.StatusBadRequest)
		}
	})
}

func TestAuditEventsEndpoint(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
		var ids []string
		for i := range 3 {
			c := e.CreateToken(admin, map[string]any{"subject": "svc-" + strconv.Itoa(i)})
			ids = append(ids, c.TokenID)
		}
		if r := e.Do(http.MethodDelete, "/api/tokens/"+ids[0], nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d", r.Status)
		}

		type page []struct {
			ID      int64          `json:"id"`
			Time    string         `json:"time"`
			Actor   string         `json:"actor"`
			Action  string         `json:"action"`
			Target  string         `json:"target"`
			Details map[string]any `json:"details"`
		}
		r := e.Do(http.MethodGet, "/api/audit-events", nil, e.As(admin))
		var all page
		r.JSON(t, &all)
		// Each token's subject became a service user: 3 × (service_user.created, token.created), the revocation.
		if r.Status != http.StatusOK || len(all) != 7 || all[0].Action != "token.revoked" || all[0].Target != ids[0] ||
			all[0].Actor != "admin@example.com" || all[0].Details["subject"] != "svc-0" || !apiTime.MatchString(all[0].Time) {
			t.Fatalf("audit events: %d %s", r.Status, r.Body)
		}

		// Filter by action, newest first, two to a page.
		var got []string
		for _, p := range followPages(t, e, "/api/audit-events?action=token.created&limit=2", e.As(admin)) {
			for _, ev := range p {
				if ev["action"] != "token.created" {
					t.Fatalf("filter let %s through", ev["action"])
				}
				got = append(got, ev["target"].(string))
			}
		}
		if strings.Join(got, ",") != ids[2]+","+ids[1]+","+ids[0] {
			t.Errorf("created events newest first: %v, want %v reversed", got, ids)
		}

		// Administrators only.
		svc := e.CreateToken(admin, map[string]any{"subject": "reader"})
		wantProblem(t, e.Do(http.MethodGet, "/api/audit-events", nil, testenv.Bearer(svc.AccessToken)), http.StatusForbidden)
		wantProblem(t, e.Do(http.MethodGet, "/api/audit-events", nil, e.As(e.SignIn("viewer@example.com", false))), http.StatusForbidden)
		wantProblem(t, e.Do(http.MethodGet, "/api/audit-events", nil), http.StatusUnauthorized)
		wantProblem(t, e.Do(http.MethodGet, "/api/audit-events?limit=1001", nil, e.As(admin)), http.StatusBadRequest)
		wantProblem(t, e.Do(http.MethodGet, "/api/audit-events?cursor=-4", nil, e.As(admin)), http.StatusBadRequest)
	})
}

func TestAdminAccessExplainsWhoAndWhy(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{
		"ADMIN_GROUPS": "codemetrics-admins", "ADMIN_EMAILS": "boss@example.com",
		"OIDC_ISSUER_URL": "https://idp.example", "OIDC_CLIENT_ID": "c", "OIDC_CLIENT_SECRET": "never-shown",
	}})
	admin := e.SignIn("admin@example.com", true)
	for _, who := range []string{"ada@example.com", "bob@example.com", "ada@example.com"} {
		if err := e.Server.Audit.Record(t.Context(), audit.Context{Actor: who}, "auth.signed_in", who, map[string]any{"name": who, "reason": "member of group codemetrics-admins (ADMIN_GROUPS)"}); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Minute)
	}
	r := e.Do(http.MethodGet, "/api/admin/access", nil, e.As(admin))
	var got struct {
		IdentityProvider string   `json:"identityProvider"`
		AdminGroups      []string `json:"adminGroups"`
		AdminEmails      []string `json:"adminEmails"`
		RecentAdmins     []struct {
			Email, Reason, LastSignIn string
		} `json:"recentAdmins"`
	}
	r.JSON(t, &got)
	if r.Status != http.StatusOK || got.IdentityProvider != "https://idp.example" || strings.Join(got.AdminGroups, ",") != "codemetrics-admins" ||
		strings.Join(got.AdminEmails, ",") != "boss@example.com" || len(got.RecentAdmins) != 2 || got.RecentAdmins[0].Email != "ada@example.com" ||
		got.RecentAdmins[0].LastSignIn != testenv.Epoch.Add(2*time.Minute).Format(apiTimeFormat) || !strings.Contains(got.RecentAdmins[0].Reason, "ADMIN_GROUPS") {
		t.Fatalf("access: %d %s", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), "never-shown") {
		t.Error("the client secret is shown")
	}
	e.Sync() // the clock moved on: read the revocation feed, as the background loop would
	svc := e.CreateToken(admin, map[string]any{"subject": "reader"})
	wantProblem(t, e.Do(http.MethodGet, "/api/admin/access", nil, testenv.Bearer(svc.AccessToken)), http.StatusForbidden)
}

func tokenRequest(subject, ttl string) token.CreateRequest {
	d, err := config.ParseDuration(ttl)
	if err != nil {
		panic(err)
	}
	return token.CreateRequest{Subject: subject, CreatedBy: "admin@example.com", TTL: d}
}
