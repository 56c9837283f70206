package httpapi_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// listAll lists tokens with query, two per page, and checks X-Total-Count against the rows.
func listAll(t *testing.T, e *testenv.Env, admin testenv.Session, query string) []string {
	t.Helper()
	var ids []string
	path := "/api/tokens?limit=2&" + query
	total := -1
	for path != "" {
		var page []testenv.TokenEntry
		r := e.GetJSON(path, &page, e.As(admin))
		n, err := strconv.Atoi(r.Header.Get("X-Total-Count"))
		if err != nil || (total >= 0 && n != total) {
			t.Fatalf("%s: X-Total-Count %q (before %d)", path, r.Header.Get("X-Total-Count"), total)
		}
		total = n
		ids = append(ids, testenv.TokenIDs(page)...)
		path = ""
		if l := r.Header.Get("Link"); l != "" {
			u := l[strings.Index(l, "<")+1 : strings.Index(l, ">")]
			if i := strings.Index(u, "/api/"); i >= 0 {
				u = u[i:]
			}
			path = u
		}
	}
	if total != len(ids) {
		t.Errorf("%s: X-Total-Count %d, rows %d", query, total, len(ids))
	}
	slices.Sort(ids)
	return ids
}

func sortedIDs(ids ...string) []string { s := slices.Clone(ids); slices.Sort(s); return s }

// TestTokenListFilters: serviceUser, scope (whole names), expiresBefore, unusedSince and stale,
// alone and combined with status and subject, paged with an exact X-Total-Count; stale
// boundaries (used 91 vs 89 days ago, never used and created 91 days ago).
func TestTokenListFilters(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		// At Epoch: a (metrics:read) and c (metrics:read, never used); a used now.
		a := e.CreateToken(admin, map[string]any{"subject": "alpha", "scopes": []string{"metrics:read"}, "expiresIn": "100d"})
		c := e.CreateToken(admin, map[string]any{"subject": "gamma", "scopes": []string{"metrics:read"}})
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(a.AccessToken)); r.Status != http.StatusOK {
			t.Fatalf("use a: %d %s", r.Status, r.Body)
		}
		e.Flush()
		e.Clock.Advance(48 * time.Hour)
		e.Sync()
		admin = e.SignIn("admin@example.com", true)
		// Two days on: b (metrics:read pipeline:write), used now; d (pipeline:write), never used.
		b := e.CreateToken(admin, map[string]any{"subject": "beta", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"*"}})
		d := e.CreateToken(admin, map[string]any{"subject": "delta", "scopes": []string{"pipeline:write"}, "workloads": []string{"*"}})
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(b.AccessToken)); r.Status != http.StatusOK {
			t.Fatalf("use b: %d %s", r.Status, r.Body)
		}
		e.Flush()
		e.Clock.Set(testenv.Epoch.Add(91 * 24 * time.Hour))
		e.Sync()
		admin = e.SignIn("admin@example.com", true)
		// a used 91 days ago, b 89, c never used and created 91 days ago, d created 89 days ago.

		var alpha []testenv.TokenEntry
		e.GetJSON("/api/tokens?subject=alpha", &alpha, e.As(admin))
		if len(alpha) != 1 || !alpha[0].Stale {
			t.Errorf("alpha, unused for 91 days, listed %+v: want stale", alpha)
		}
		var su []testenv.TokenEntry
		e.GetJSON("/api/tokens?subject=delta", &su, e.As(admin))
		dUser := su[0].ServiceUserID

		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"", sortedIDs(a.TokenID, b.TokenID, c.TokenID, d.TokenID)},
			{"stale=true", sortedIDs(a.TokenID, c.TokenID)},
			{"stale=false", sortedIDs(b.TokenID, d.TokenID)},
			{"scope=metrics:read", sortedIDs(a.TokenID, b.TokenID, c.TokenID)},
			{"scope=pipeline:write", sortedIDs(b.TokenID, d.TokenID)},
			{"scope=pipeline:write&stale=false&subject=bet", sortedIDs(b.TokenID)},
			{"serviceUser=" + strconv.FormatInt(dUser, 10), sortedIDs(d.TokenID)},
			{"expiresBefore=" + testenv.Epoch.Add(101*24*time.Hour).Format(time.RFC3339), sortedIDs(a.TokenID)},
			{"expiresBefore=2000-01-01", nil},
			{"unusedSince=" + testenv.Epoch.Add(time.Hour).Format(time.RFC3339), sortedIDs(a.TokenID, c.TokenID, d.TokenID)},
			{"unusedSince=" + testenv.Epoch.Add(time.Hour).Format(time.RFC3339) + "&scope=metrics:read&sort=expires", sortedIDs(a.TokenID, c.TokenID)},
			{"status=all&stale=true", sortedIDs(a.TokenID, c.TokenID)},
		} {
			if got := listAll(t, e, admin, tc.query); !slices.Equal(got, tc.want) {
				t.Errorf("?%s: got %v, want %v", tc.query, got, tc.want)
			}
		}
		// A revoked token is never stale.
		e.Revoke(admin, c.TokenID)
		var all []testenv.TokenEntry
		e.GetJSON("/api/tokens?status=revoked", &all, e.As(admin))
		if len(all) != 1 || all[0].Stale {
			t.Errorf("revoked c listed %+v: want stale false", all)
		}
		if got := listAll(t, e, admin, "status=all&stale=false"); !slices.Equal(got, sortedIDs(b.TokenID, c.TokenID, d.TokenID)) {
			t.Errorf("status=all&stale=false: %v", got)
		}
	})
}

// TestTokenListFilterScopeWholeNames: a scope filter matches whole names only.
func TestTokenListFilterScopeWholeNames(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		e.CreateToken(admin, map[string]any{"subject": "m", "scopes": []string{"metrics:read"}})
		for _, bad := range []string{"metrics", "read", "metrics:rea", "%", "metrics:read pipeline:write"} {
			r := e.Do(http.MethodGet, "/api/tokens?scope="+url.QueryEscape(bad), nil, e.As(admin))
			p := testenv.WantProblem(t, r, http.StatusBadRequest)
			if p.Code != "invalid_parameter" || !strings.Contains(p.Detail, "scope") || !strings.Contains(p.Detail, "metrics:read") {
				t.Errorf("scope=%q: %+v", bad, p)
			}
		}
		if got := listAll(t, e, admin, "scope=tokens:rotate"); len(got) != 0 {
			t.Errorf("scope=tokens:rotate matched %v", got)
		}
	})
}

// TestTokenListFilterBadValues: every bad filter value is a 400 naming the parameter.
func TestTokenListFilterBadValues(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		for q, param := range map[string]string{
			"serviceUser=x": "serviceUser", "serviceUser=0": "serviceUser", "serviceUser=-3": "serviceUser",
			"expiresBefore=tomorrow": "expiresBefore", "expiresBefore=2024-13-01": "expiresBefore", "expiresBefore=": "expiresBefore",
			"unusedSince=2024-01-01T00:00": "unusedSince", "stale=yes": "stale", "stale=1": "stale", "stale=": "stale",
		} {
			for _, path := range []string{"/api/tokens?", "/api/tokens/export?format=csv&"} {
				p := testenv.WantProblem(t, e.Do(http.MethodGet, path+q, nil, e.As(admin)), http.StatusBadRequest)
				if p.Code != "invalid_parameter" || !strings.Contains(p.Detail, param) {
					t.Errorf("%s%s: %+v", path, q, p)
				}
			}
		}
	})
}

func readCSV(t *testing.T, body string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, body)
	}
	return recs
}

// TestTokenExportCSV: headers, columns, filters, no token value or hash, formula escaping,
// the token.exported event; format other than csv is a 400; administrators only.
func TestTokenExportCSV(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		evil := e.CreateToken(admin, map[string]any{"subject": "evil", "description": "=HYPERLINK(\"http://x\")", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"*"}})
		plain := e.CreateToken(admin, map[string]any{"subject": "plain", "description": "@SUM(1)"})
		other := e.CreateToken(admin, map[string]any{"subject": "other", "scopes": []string{"pipeline:write"}, "workloads": []string{"*"}})
		for _, f := range []string{"", "format=json", "format=CSV"} {
			testenv.WantProblem(t, e.Do(http.MethodGet, "/api/tokens/export?"+f, nil, e.As(admin)), http.StatusBadRequest)
		}
		user := e.SignIn("user@example.com", false)
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/tokens/export?format=csv", nil, e.As(user)), http.StatusForbidden)

		r := e.Do(http.MethodGet, "/api/tokens/export?format=csv&scope=metrics:read", nil, e.As(admin))
		if r.Status != http.StatusOK {
			t.Fatalf("export: %d %s", r.Status, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		want := fmt.Sprintf(`attachment; filename="codemetrics-tokens-%s.csv"`, testenv.Epoch.Format("20060102"))
		if cd := r.Header.Get("Content-Disposition"); cd != want {
			t.Errorf("Content-Disposition %q, want %q", cd, want)
		}
		body := string(r.Body)
		for _, secret := range []string{evil.AccessToken, plain.AccessToken, strings.Split(evil.AccessToken, ".")[2]} {
			if strings.Contains(body, secret) {
				t.Errorf("the export holds a token value or signature")
			}
		}
		recs := readCSV(t, body)
		header := []string{"tokenId", "sub", "description", "scopes", "status", "created", "expires", "lastUsed", "createdBy", "serviceUserId", "revoked", "revokedBy", "revocationReason", "replaces", "replacedBy", "ends", "stale",
			"lastUsedAddress", "lastUsedUserAgent", "requests30d", "stillPresented"}
		if !slices.Equal(recs[0], header) {
			t.Fatalf("header %v", recs[0])
		}
		byID := map[string][]string{}
		for _, rec := range recs[1:] {
			byID[rec[0]] = rec
		}
		if len(recs) != 3 || byID[evil.TokenID] == nil || byID[plain.TokenID] == nil || byID[other.TokenID] != nil {
			t.Fatalf("scope=metrics:read exported %v", recs)
		}
		ev := byID[evil.TokenID]
		if ev[1] != "evil" || ev[2] != `'=HYPERLINK("http://x")` || ev[3] != "metrics:read pipeline:write" || ev[4] != "active" || ev[16] != "false" {
			t.Errorf("evil's row %q", ev)
		}
		if p := byID[plain.TokenID]; p[2] != "'@SUM(1)" {
			t.Errorf("plain's description %q, want it escaped", p[2])
		}
		evs := e.AuditEvents("token.exported")
		if len(evs) != 1 || evs[0].Actor != "admin@example.com" {
			t.Fatalf("token.exported events %+v", evs)
		}
		if fmt.Sprint(evs[0].Details["rows"]) != "2" || !strings.Contains(fmt.Sprint(evs[0].Details["filters"]), "metrics:read") {
			t.Errorf("event details %v", evs[0].Details)
		}
	})
}

type bulkResult struct {
	Results []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"results"`
	Revoked int  `json:"revoked"`
	DryRun  bool `json:"dryRun"`
}

// TestBulkRevoke: mixed ids answer in input order; a dry run changes nothing; a real run
// revokes on both instances after a feed sync, audited with the reason; bad bodies are 400s
// and non-administrators 403.
func TestBulkRevoke(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		a, b := testenv.StartTwo(t, db)
		admin := a.SignIn("admin@example.com", true)
		t1 := a.CreateToken(admin, map[string]any{"subject": "one"})
		t2 := a.CreateToken(admin, map[string]any{"subject": "two"})
		gone := a.CreateToken(admin, map[string]any{"subject": "gone"})
		a.Revoke(admin, gone.TokenID)
		ids := []string{t2.TokenID, "no-such-token", gone.TokenID, t1.TokenID}
		want := []string{"revoked", "not_found", "already_ended", "revoked"}
		check := func(r *testenv.Response, dry bool) {
			t.Helper()
			if r.Status != http.StatusOK {
				t.Fatalf("bulk revoke: %d %s", r.Status, r.Body)
			}
			var res bulkResult
			r.JSON(t, &res)
			if res.DryRun != dry || res.Revoked != 2 || len(res.Results) != len(ids) {
				t.Fatalf("answer %+v", res)
			}
			for i, x := range res.Results {
				if x.ID != ids[i] || x.Status != want[i] {
					t.Errorf("result %d: %+v, want %s %s", i, x, ids[i], want[i])
				}
			}
		}
		works := func(e *testenv.Env, tok string) int {
			return e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok)).Status
		}
		check(a.Do(http.MethodPost, "/api/tokens/revoke", map[string]any{"ids": ids, "reason": "leak drill", "dryRun": true}, a.As(admin)), true)
		b.Sync()
		for _, e := range []*testenv.Env{a, b} {
			if works(e, t1.AccessToken) != http.StatusOK || works(e, t2.AccessToken) != http.StatusOK {
				t.Fatalf("a dry run stopped a token")
			}
		}
		if n := len(a.AuditEvents("token.revoked")); n != 1 {
			t.Errorf("a dry run recorded events: %d token.revoked", n)
		}

		check(a.Do(http.MethodPost, "/api/tokens/revoke", map[string]any{"ids": ids, "reason": "leak drill"}, a.As(admin)), false)
		b.Sync()
		for _, e := range []*testenv.Env{a, b} {
			for _, tok := range []string{t1.AccessToken, t2.AccessToken} {
				if s := works(e, tok); s != http.StatusUnauthorized {
					t.Errorf("a revoked token answers %d", s)
				}
			}
		}
		evs := a.AuditEvents("token.revoked")
		reasons := 0
		for _, ev := range evs {
			if ev.Details["reason"] == "leak drill" && (ev.Target == t1.TokenID || ev.Target == t2.TokenID) {
				reasons++
			}
		}
		if reasons != 2 {
			t.Errorf("token.revoked events with the reason: %d of %+v", reasons, evs)
		}
		var revoked []testenv.TokenEntry
		a.GetJSON("/api/tokens?status=revoked", &revoked, a.As(admin))
		if len(revoked) != 3 {
			t.Errorf("revoked list %d", len(revoked))
		}

		many := make([]string, 1001)
		for i := range many {
			many[i] = "id-" + strconv.Itoa(i)
		}
		for name, body := range map[string]any{
			"empty": map[string]any{"ids": []string{}}, "none": map[string]any{},
			"duplicate": map[string]any{"ids": []string{t1.TokenID, t1.TokenID}},
			"1001":      map[string]any{"ids": many},
			"reason":    map[string]any{"ids": []string{t1.TokenID}, "reason": strings.Repeat("x", 201)},
		} {
			if r := a.Do(http.MethodPost, "/api/tokens/revoke", body, a.As(admin)); r.Status != http.StatusBadRequest {
				t.Errorf("%s: %d %s", name, r.Status, r.Body)
			}
		}
		user := a.SignIn("user@example.com", false)
		testenv.WantProblem(t, a.Do(http.MethodPost, "/api/tokens/revoke", map[string]any{"ids": []string{t1.TokenID}}, a.As(user)), http.StatusForbidden)
	})
}

// TestTokenExportStreamsBatches: more tokens than one export batch (500) are all exported, once.
func TestTokenExportStreamsBatches(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		const n = 503
		for i := range n {
			e.CreateToken(admin, map[string]any{"subject": "batch-" + strconv.Itoa(i%7)})
		}
		r := e.Do(http.MethodGet, "/api/tokens/export?format=csv&subject=batch-", nil, e.As(admin))
		if r.Status != http.StatusOK {
			t.Fatalf("export: %d", r.Status)
		}
		recs := readCSV(t, string(r.Body))
		seen := map[string]bool{}
		for _, rec := range recs[1:] {
			seen[rec[0]] = true
		}
		if len(recs) != n+1 || len(seen) != n {
			t.Errorf("exported %d rows, %d distinct tokens; want %d", len(recs)-1, len(seen), n)
		}
	})
}

// TestBulkRevokeNotifiesAndIsForAdministrators: each token a bulk revocation ends raises its
// token.revoked notification with the reason, as a single revocation does; a service token,
// whatever its scopes, cannot revoke in bulk.
func TestBulkRevokeNotifiesAndIsForAdministrators(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		recv := testenv.NewReceiver(t)
		e := testenv.Start(t, db, testenv.Settings{Env: testenv.NotifyEnv(recv.URL + "/hook")})
		admin := e.SignIn("admin@example.com", true)
		t1 := e.CreateToken(admin, map[string]any{"subject": "one"})
		t2 := e.CreateToken(admin, map[string]any{"subject": "two", "scopes": []string{"metrics:read", "pipeline:write", "tokens:rotate"}, "workloads": []string{"*"}})
		body := map[string]any{"ids": []string{t1.TokenID}, "reason": "drill"}
		testenv.WantProblem(t, e.Do(http.MethodPost, "/api/tokens/revoke", body, testenv.Bearer(t2.AccessToken)), http.StatusForbidden)
		body["ids"] = []string{t1.TokenID, t2.TokenID}
		if r := e.Do(http.MethodPost, "/api/tokens/revoke", body, e.As(admin)); r.Status != http.StatusOK {
			t.Fatalf("bulk revoke: %d %s", r.Status, r.Body)
		}
		e.Notify()
		hits := recv.Hits("/hook")
		got := map[string]bool{}
		for _, h := range hits {
			b := verifyHook(t, h, e.Clock.Now())
			if b.Event != "token.revoked" || !strings.Contains(b.Text, "Reason: “drill”") {
				t.Errorf("notification %s", h.Body)
			}
			got[b.TokenID] = true
		}
		if len(hits) != 2 || !got[t1.TokenID] || !got[t2.TokenID] {
			t.Errorf("%d notifications for %v, want one for each of %s and %s", len(hits), got, t1.TokenID, t2.TokenID)
		}
	})
}
