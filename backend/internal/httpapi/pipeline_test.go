package httpapi_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

func run(id, workload, kind, status string, start time.Time, seconds int, coverage any) map[string]any {
	r := map[string]any{
		"id": id, "workload": workload, "pipeline": "main-ci", "kind": kind, "status": status,
		"branch": "main", "commit": "0123456789abcdef0123456789abcdef01234567",
		"startedAt": start.Format(time.RFC3339), "finishedAt": start.Add(time.Duration(seconds) * time.Second).Format(time.RFC3339),
	}
	if coverage != nil {
		r["coverage"] = coverage
		r["tests"] = map[string]int{"passed": 120, "failed": 0, "skipped": 3}
	}
	return r
}

func TestRecordAndListPipelineRuns(t *testing.T) {
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		writer := e.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"pipeline:write"}, "workloads": []string{"*"}})
		reader := e.CreateToken(admin, map[string]any{"subject": "dash"})
		day := time.Date(2026, 2, 10, 8, 0, 0, 0, time.UTC)

		first := run("gh-1001", "my-team", "build", "success", day, 300, 81.5)
		r := e.Do(http.MethodPost, "/api/pipeline/runs", first, testenv.Bearer(writer.AccessToken))
		if r.Status != http.StatusCreated {
			t.Fatalf("record: %d %s", r.Status, r.Body)
		}
		var stored map[string]any
		r.JSON(t, &stored)
		if stored["id"] != "gh-1001" || stored["workload"] != "my-team" || stored["coverage"] != 81.5 || stored["startedAt"] != "2026-02-10T08:00:00.000Z" ||
			stored["recordedBy"] != "token:"+writer.TokenID || stored["tests"].(map[string]any)["skipped"] != 3.0 {
			t.Errorf("stored run = %s", r.Body)
		}
		// The same run again is idempotent; the same id with other data is a conflict.
		if r := e.Do(http.MethodPost, "/api/pipeline/runs", first, testenv.Bearer(writer.AccessToken)); r.Status != http.StatusOK {
			t.Errorf("recording the same run again: %d %s", r.Status, r.Body)
		}
		changed := run("gh-1001", "my-team", "build", "failed", day, 300, 81.5)
		testenv.WantProblem(t, e.Do(http.MethodPost, "/api/pipeline/runs", changed, testenv.Bearer(writer.AccessToken)), http.StatusConflict)
		// The same id in another workload is another run.
		if r := e.Do(http.MethodPost, "/api/pipeline/runs", run("gh-1001", "other-team", "build", "success", day, 60, nil), testenv.Bearer(writer.AccessToken)); r.Status != http.StatusCreated {
			t.Errorf("same id, other workload: %d %s", r.Status, r.Body)
		}
		for i := 2; i <= 5; i++ {
			body := run(fmt.Sprintf("gh-100%d", i), "my-team", "build", "success", day.Add(time.Duration(i)*time.Hour), 100, nil)
			if r := e.Do(http.MethodPost, "/api/pipeline/runs", body, testenv.Bearer(writer.AccessToken)); r.Status != http.StatusCreated {
				t.Fatalf("record %d: %d %s", i, r.Status, r.Body)
			}
		}

		// Scopes: a metrics:read token reads but cannot record; a pipeline:write token cannot read.
		testenv.WantProblem(t, e.Do(http.MethodPost, "/api/pipeline/runs", run("x-1", "my-team", "build", "success", day, 1, nil), testenv.Bearer(reader.AccessToken)), http.StatusForbidden)
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/pipeline/runs", nil, testenv.Bearer(writer.AccessToken)), http.StatusForbidden)
		testenv.WantProblem(t, e.Do(http.MethodPost, "/api/pipeline/runs", first), http.StatusUnauthorized)

		var ids []string
		for _, page := range followPages(t, e, "/api/pipeline/runs?workload=my-team&limit=2", testenv.Bearer(reader.AccessToken)) {
			for _, x := range page {
				ids = append(ids, x["id"].(string))
			}
		}
		if strings.Join(ids, ",") != "gh-1005,gh-1004,gh-1003,gh-1002,gh-1001" {
			t.Errorf("runs newest first: %v", ids)
		}
		r = e.Do(http.MethodGet, "/api/workloads", nil, testenv.Bearer(reader.AccessToken))
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `["my-team","other-team"]`) {
			t.Errorf("workloads: %d %s", r.Status, r.Body)
		}
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/pipeline/runs?limit=0", nil, testenv.Bearer(reader.AccessToken)), http.StatusBadRequest)
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/pipeline/runs?cursor=zz", nil, testenv.Bearer(reader.AccessToken)), http.StatusBadRequest)
	})
}

func TestRecordRunValidation(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t))
	admin := e.SignIn("admin@example.com", true)
	writer := e.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"pipeline:write"}, "workloads": []string{"*"}})
	day := time.Date(2026, 2, 10, 8, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		change func(map[string]any)
		want   string
	}{
		"no id":              {func(r map[string]any) { delete(r, "id") }, "id is required"},
		"bad workload":       {func(r map[string]any) { r["workload"] = "my team!" }, "workload must be"},
		"bad kind":           {func(r map[string]any) { r["kind"] = "test" }, "kind must be"},
		"bad status":         {func(r map[string]any) { r["status"] = "ok" }, "status must be"},
		"no branch":          {func(r map[string]any) { r["branch"] = "" }, "branch is required"},
		"bad commit":         {func(r map[string]any) { r["commit"] = "xyz" }, "commit must be"},
		"no start":           {func(r map[string]any) { delete(r, "startedAt") }, "startedAt and finishedAt are required"},
		"bad time":           {func(r map[string]any) { r["startedAt"] = "yesterday" }, "RFC 3339"},
		"finished first":     {func(r map[string]any) { r["finishedAt"] = day.Add(-time.Minute).Format(time.RFC3339) }, "finishedAt is before startedAt"},
		"coverage over 100":  {func(r map[string]any) { r["coverage"] = 101 }, "coverage is a percentage"},
		"coverage as string": {func(r map[string]any) { r["coverage"] = "80" }, `"coverage" has the wrong type`},
		"negative tests":     {func(r map[string]any) { r["tests"] = map[string]int{"passed": -1, "failed": 0, "skipped": 0} }, "cannot be negative"},
		"partial tests":      {func(r map[string]any) { r["tests"] = map[string]int{"passed": 1} }, "tests needs passed, failed and skipped"},
		"unknown field":      {func(r map[string]any) { r["author"] = "x" }, "unknown field"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := e.For(t)
			body := run("r-1", "team", "build", "success", day, 60, 50)
			tc.change(body)
			r := e.Do(http.MethodPost, "/api/pipeline/runs", body, testenv.Bearer(writer.AccessToken))
			p := testenv.WantProblem(t, r, http.StatusBadRequest)
			if !strings.Contains(p.Detail, tc.want) {
				t.Errorf("detail %q does not say %q", p.Detail, tc.want)
			}
		})
	}
	r := e.Do(http.MethodGet, "/api/pipeline/runs", nil, e.As(admin))
	if r.Status != http.StatusOK || strings.Contains(string(r.Body), "r-1") {
		t.Errorf("a refused run was stored: %s", r.Body)
	}
}

// fuzzServer starts one server for a whole fuzz target, with a token that may record and read.
func fuzzServer(f *testing.F) (*testenv.Env, string) {
	e := testenv.Start(f, testenv.SQLite(f))
	tok := e.CreateToken(e.SignIn("admin@example.com", true), map[string]any{"subject": "fuzz", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"*"}})
	return e, tok.AccessToken
}

// FuzzRecordRunBody sends arbitrary bodies to POST /api/pipeline/runs: never a 5xx, always
// JSON, a refusal as problem+json.
func FuzzRecordRunBody(f *testing.F) {
	e, tok := fuzzServer(f)
	f.Add([]byte(`{"id":"r1","workload":"team","pipeline":"ci","kind":"build","status":"success","branch":"main","commit":"abcdef0","startedAt":"2026-01-01T10:00:00Z","finishedAt":"2026-01-01T10:05:00Z","coverage":80,"tests":{"passed":1,"failed":0,"skipped":0}}`))
	f.Add([]byte(`{"id":"r1","workload":"team","kind":"deploy","startedAt":"x"}`))
	f.Add([]byte(`{"coverage":1e400}`))
	f.Add([]byte(`{"tests":{"passed":-1}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		testenv.WantJSONAnswer(t, e.For(t).Do(http.MethodPost, "/api/pipeline/runs", body, testenv.Bearer(tok)))
	})
}

// FuzzQueryBody does the same to POST /api/query.
func FuzzQueryBody(f *testing.F) {
	e, tok := fuzzServer(f)
	f.Add([]byte(`{"queries":["code-coverage"],"workloads":["team"],"dateRange":{"start":"2026-01-01","end":"2026-01-31"}}`))
	f.Add([]byte(`{"queries":["build-duration","build-duration"],"workloads":["a","b"],"dateRange":{"start":"9999-12-31","end":"0001-01-01"}}`))
	f.Add([]byte(`{"dateRange":{}}`))
	f.Add([]byte(`{"queries":["code-coverage","code-coverage"],"workloads":["team","team"],"dateRange":{"start":"2026-01-01","end":"2026-01-31"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		testenv.WantJSONAnswer(t, e.For(t).Do(http.MethodPost, "/api/query", body, testenv.Bearer(tok)))
	})
}

// FuzzRecordRunBatchBody does the same to POST /api/pipeline/runs/batch, whose bad runs inside
// a good body are answered one by one in its 200 (so only the answer is checked against the
// OpenAPI document): one result per run, in order, each with a known status.
func FuzzRecordRunBatchBody(f *testing.F) {
	e, tok := fuzzServer(f)
	run := `{"id":"r1","workload":"team","pipeline":"ci","kind":"build","status":"success","branch":"main","commit":"abcdef0","startedAt":"2026-01-01T10:00:00Z","finishedAt":"2026-01-01T10:05:00Z","coverage":80}`
	f.Add([]byte(`{"runs":[` + run + `]}`))
	f.Add([]byte(`{"runs":[` + run + `,` + run + `,{"id":"r1","workload":"team"}]}`))
	f.Add([]byte(`{"runs":[1,"x",null,[],{"id":"a","id":"b"}]}`))
	f.Add([]byte(`{"runs":[{"startedAt":"9999-12-31T23:59:59Z","finishedAt":"0001-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"runs":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := e.For(t).Do(http.MethodPost, "/api/pipeline/runs/batch", body, testenv.Bearer(tok), testenv.Lenient)
		testenv.WantJSONAnswer(t, r)
		if r.Status != http.StatusOK {
			return
		}
		var req struct{ Runs []json.RawMessage }
		var res struct{ Results []struct{ Status string } }
		if json.Unmarshal(body, &req) != nil || json.Unmarshal(r.Body, &res) != nil || len(res.Results) != len(req.Runs) {
			t.Fatalf("%q answered %s", body, r.Body)
		}
		for _, x := range res.Results {
			if x.Status != "created" && x.Status != "unchanged" && x.Status != "conflict" && x.Status != "invalid" {
				t.Fatalf("%q: status %q", body, x.Status)
			}
		}
	})
}

func TestQueryDailySeries(t *testing.T) {
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		writer := e.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"pipeline:write", "metrics:read"}, "workloads": []string{"*"}})
		d1 := time.Date(2026, 2, 10, 23, 0, 0, 0, time.UTC) // late: still 10 February in UTC
		d2 := time.Date(2026, 2, 12, 1, 0, 0, 0, time.UTC)
		for _, r := range []map[string]any{
			run("b1", "my-team", "build", "success", d1, 100, 80.0),
			run("b2", "my-team", "build", "failed", d1, 300, 70.0),
			run("b3", "my-team", "build", "cancelled", d1, 1000, nil),
			run("b4", "my-team", "build", "success", d2, 200, 90.0),
			run("d1", "my-team", "deploy", "success", d2, 50, nil),
			run("d2", "my-team", "deploy", "success", d2, 50, nil),
			run("d3", "my-team", "deploy", "failed", d2, 50, nil),
		} {
			if res := e.Do(http.MethodPost, "/api/pipeline/runs", r, testenv.Bearer(writer.AccessToken)); res.Status != http.StatusCreated {
				t.Fatalf("record: %d %s", res.Status, res.Body)
			}
		}
		body := `{"queries": ["code-coverage", "build-success-rate", "build-duration", "deployment-frequency"], "workloads": ["my-team"],
		          "dateRange": {"start": "2026-02-10", "end": "2026-02-12"}}`
		r := e.Do(http.MethodPost, "/api/query", body, testenv.Bearer(writer.AccessToken))
		if r.Status != http.StatusOK {
			t.Fatalf("query: %d %s", r.Status, r.Body)
		}
		var got seriesAnswer
		r.JSON(t, &got)
		vals := map[string]string{}
		for _, s := range got.Results {
			var parts []string
			for _, p := range s.Points {
				v := "null"
				if p.Value != nil {
					v = fmt.Sprint(*p.Value)
				}
				if p.P95 != nil {
					// Durations come from a sketch, within 0.5%: shown as the exact value they are near.
					v = fmt.Sprintf("%s/%s", nearOf(*p.P50, 100, 200, 300, 1000), nearOf(*p.P95, 100, 200, 300, 1000))
				}
				parts = append(parts, p.Date[8:]+"="+v)
			}
			vals[s.Query] = strings.Join(parts, " ")
		}
		want := map[string]string{
			"code-coverage":        "10=75 11=null 12=90",
			"build-success-rate":   "10=50 11=null 12=100",           // the cancelled build counts for neither
			"build-duration":       "10=300/1000 11=null 12=200/200", // p50/p95 by nearest rank over 100, 300, 1000 s
			"deployment-frequency": "10=0 11=0 12=2",
		}
		for q, w := range want {
			if vals[q] != w {
				t.Errorf("%s = %q, want %q", q, vals[q], w)
			}
		}

		bad := map[string]string{
			`{"queries": ["lines-of-code"], "workloads": ["my-team"], "dateRange": {"start": "2026-02-10", "end": "2026-02-12"}}`: `unknown query "lines-of-code"`,
			`{"queries": ["code-coverage"], "workloads": ["nobody"], "dateRange": {"start": "2026-02-10", "end": "2026-02-12"}}`:  `unknown workload "nobody"`,
			`{"queries": ["code-coverage"], "workloads": ["my-team"], "dateRange": {"start": "2026-02-12", "end": "2026-02-10"}}`: "reversed",
			`{"queries": ["code-coverage"], "workloads": ["my-team"], "dateRange": {"start": "2024-01-01", "end": "2026-02-10"}}`: "at most 366",
			`{"queries": ["code-coverage"], "workloads": ["my-team"], "dateRange": {"start": "10/02/2026", "end": "2026-02-10"}}`: "dateRange.start",
			`{"queries": ["code-coverage"], "workloads": ["my-team"]}`:                                                            "dateRange is required",
			`{"queries": [], "workloads": ["my-team"], "dateRange": {"start": "2026-02-10", "end": "2026-02-12"}}`:                "queries is required",
		}
		for b, w := range bad {
			p := testenv.WantProblem(t, e.Do(http.MethodPost, "/api/query", b, testenv.Bearer(writer.AccessToken)), http.StatusBadRequest)
			if !strings.Contains(p.Detail, w) {
				t.Errorf("%s: detail %q, want it to name %q", b, p.Detail, w)
			}
		}
	})
}

func TestTokenSelf(t *testing.T) {
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		c := e.CreateToken(admin, map[string]any{"subject": "nightly", "scopes": []string{"pipeline:write"}, "workloads": []string{"*"}})
		r := e.Do(http.MethodGet, "/api/tokens/self", nil, testenv.Bearer(c.AccessToken))
		var self map[string]any
		r.JSON(t, &self)
		if r.Status != http.StatusOK || self["tokenId"] != c.TokenID || self["sub"] != "nightly" || self["expires"] != c.Expires ||
			fmt.Sprint(self["scopes"]) != "[pipeline:write]" {
			t.Fatalf("self: %d %s", r.Status, r.Body)
		}
		e.Flush()
		r = e.Do(http.MethodGet, "/api/tokens/self", nil, testenv.Bearer(c.AccessToken))
		_ = json.Unmarshal(r.Body, &self)
		if self["lastUsed"] != testenv.Epoch.Format(testenv.TimeFormat) {
			t.Errorf("lastUsed after a flush = %v", self["lastUsed"])
		}
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/tokens/self", nil, e.As(admin)), http.StatusForbidden)
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/tokens/self", nil), http.StatusUnauthorized)
	})
}

// TestCookieWritesToMetricsNeedCSRF: an administrator's browser session may record runs and
// query, but a forged cross-site POST (cookie without the CSRF token, or from another origin)
// is refused and stores nothing.
func TestCookieWritesToMetricsNeedCSRF(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t))
	admin := e.SignIn("admin@example.com", true)
	day := time.Date(2026, 2, 10, 8, 0, 0, 0, time.UTC)
	body := run("csrf-1", "team", "build", "success", day, 60, nil)
	query := map[string]any{"queries": []string{"code-coverage"}, "workloads": []string{"team"}, "dateRange": map[string]string{"start": "2026-02-10", "end": "2026-02-10"}}

	testenv.WantProblem(t, e.Do(http.MethodPost, "/api/pipeline/runs", body, testenv.Cookie(admin)), http.StatusForbidden)
	testenv.WantProblem(t, e.Do(http.MethodPost, "/api/pipeline/runs", body, e.As(admin), testenv.Header("Origin", "https://evil.example")), http.StatusForbidden)
	if r := e.Do(http.MethodGet, "/api/workloads", nil, e.As(admin)); r.Status != http.StatusOK || strings.Contains(string(r.Body), "team") {
		t.Fatalf("a forged request stored a run: %d %s", r.Status, r.Body)
	}
	if r := e.Do(http.MethodPost, "/api/pipeline/runs", body, e.As(admin)); r.Status != http.StatusCreated {
		t.Fatalf("with the CSRF token: %d %s", r.Status, r.Body)
	}
	testenv.WantProblem(t, e.Do(http.MethodPost, "/api/query", query, testenv.Cookie(admin)), http.StatusForbidden)
	if r := e.Do(http.MethodPost, "/api/query", query, e.As(admin)); r.Status != http.StatusOK {
		t.Fatalf("query with the CSRF token: %d %s", r.Status, r.Body)
	}
}

// nearOf names the exact value v is within the durations' relative accuracy of, or v itself.
func nearOf(v float64, exact ...float64) string {
	for _, x := range exact {
		if math.Abs(v-x) <= pipeline.DurationAccuracy*x+0.01 {
			return fmt.Sprint(x)
		}
	}
	return fmt.Sprint(v)
}

// TestListWorkloads: GET /api/workloads is every workload by name, as before; the dashboard asks
// for the most recently active first, searches by a part of the name and takes the first ones.
func TestListWorkloads(t *testing.T) {
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		writer := e.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"pipeline:write"}, "workloads": []string{"*"}})
		reader := e.CreateToken(admin, map[string]any{"subject": "dash"})
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		for _, r := range []struct {
			id, workload string
			start        time.Time
		}{
			// Names that sort first, with old runs: they must not push the active ones off.
			{"o-1", "0-archive", now.AddDate(-1, 0, 0)},
			{"o-2", "0-legacy", now.AddDate(-1, 0, 0)}, // the same newest start: by name
			{"w-1", "web", now.Add(-time.Hour)},
			{"w-2", "web", now.Add(-48 * time.Hour)}, // recorded last, but older: web stays where its newest run puts it
			{"a-1", "Api-Gateway", now},
			{"m-1", "my_team", now.Add(-2 * time.Hour)},
			{"m-2", "myxteam", now.Add(-3 * time.Hour)},
		} {
			body := run(r.id, r.workload, "build", "success", r.start, 60, nil)
			if resp := e.Do(http.MethodPost, "/api/pipeline/runs", body, testenv.Bearer(writer.AccessToken)); resp.Status != http.StatusCreated {
				t.Fatalf("record %s: %d %s", r.id, resp.Status, resp.Body)
			}
		}

		byName := []string{"0-archive", "0-legacy", "Api-Gateway", "my_team", "myxteam", "web"}
		recent := []string{"Api-Gateway", "web", "my_team", "myxteam", "0-archive", "0-legacy"}
		for _, tc := range []struct {
			query string
			want  []string
			total string // X-Total-Count: every workload the search selects, whatever the limit
		}{
			{"", byName, "6"},
			{"sort=name", byName, "6"},
			{"sort=recent", recent, "6"},
			{"sort=recent&limit=2", recent[:2], "6"},
			{"limit=1000", byName, "6"},
			{"limit=1", byName[:1], "6"},
			{"q=API", []string{"Api-Gateway"}, "1"}, // any case
			{"q=gate", []string{"Api-Gateway"}, "1"},
			{"sort=recent&q=T", []string{"Api-Gateway", "my_team", "myxteam"}, "3"},
			{"q=0-&sort=recent&limit=1", []string{"0-archive"}, "2"},
			{"q=my_", []string{"my_team"}, "1"}, // "_" is a character, not a LIKE wildcard
			{"q=" + url.QueryEscape("%"), []string{}, "0"},
			{"q=" + url.QueryEscape("!"), []string{}, "0"},
			{"q=nothing", []string{}, "0"},
			{"q=" + strings.Repeat("w", 100), []string{}, "0"},
		} {
			r := e.Do(http.MethodGet, "/api/workloads?"+tc.query, nil, testenv.Bearer(reader.AccessToken))
			if r.Status != http.StatusOK {
				t.Errorf("?%s: %d %s", tc.query, r.Status, r.Body)
				continue
			}
			var body struct {
				Workloads []string `json:"workloads"`
			}
			if err := json.Unmarshal(r.Body, &body); err != nil || body.Workloads == nil {
				t.Errorf("?%s: body %s (%v)", tc.query, r.Body, err)
				continue
			}
			if !slices.Equal(body.Workloads, tc.want) {
				t.Errorf("?%s: %v, want %v", tc.query, body.Workloads, tc.want)
			}
			if got := r.Header.Get("X-Total-Count"); got != tc.total {
				t.Errorf("?%s: X-Total-Count %q, want %s", tc.query, got, tc.total)
			}
		}
		// The portal's session reads the same list.
		if r := e.Do(http.MethodGet, "/api/workloads?sort=recent&limit=1", nil, e.As(admin)); r.Status != http.StatusOK || string(r.Body) != `{"workloads":["Api-Gateway"]}` {
			t.Errorf("as the portal: %d %s", r.Status, r.Body)
		}

		for _, bad := range []struct{ query, detail string }{
			{"sort=newest", `sort must be "name" (by name) or "recent"`},
			{"sort=RECENT", `sort must be "name"`},
			{"limit=0", "limit must be a whole number from 1 to 1000"},
			{"limit=1001", "limit must be a whole number from 1 to 1000"},
			{"limit=-1", "limit must be a whole number from 1 to 1000"},
			{"limit=abc", "limit must be a whole number from 1 to 1000"},
			{"limit=2.5", "limit must be a whole number from 1 to 1000"},
			{"q=" + strings.Repeat("w", 101), "q must be valid text of at most 100 characters"},
			{"q=%ff", "q must be valid text"},
		} {
			r := e.Do(http.MethodGet, "/api/workloads?"+bad.query, nil, testenv.Bearer(reader.AccessToken))
			p := testenv.WantProblem(t, r, http.StatusBadRequest)
			if p.Code != "invalid_parameter" || !strings.HasPrefix(p.Detail, bad.detail) {
				t.Errorf("?%s: code %q, detail %q; want invalid_parameter, %q", bad.query, p.Code, p.Detail, bad.detail)
			}
		}
		// Reading workloads takes metrics:read, like every metric.
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/workloads?sort=recent", nil, testenv.Bearer(writer.AccessToken)), http.StatusForbidden)
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/workloads?sort=recent", nil), http.StatusUnauthorized)
	})
}
