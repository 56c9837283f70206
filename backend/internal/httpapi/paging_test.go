package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// nextPage matches the Link header every list sends when another page follows.
var nextPage = regexp.MustCompile(`^<(/api/[a-z/-]+\?[^>]+)>; rel="next"$`)

// followPages GETs path and then every rel="next" link, returning the items of each page.
func followPages(t *testing.T, e *testenv.Env, path string, opts ...testenv.Opt) [][]map[string]any {
	t.Helper()
	var pages [][]map[string]any
	for path != "" {
		if len(pages) > 50 {
			t.Fatalf("paging does not end after %d pages", len(pages))
		}
		var page []map[string]any
		r := e.For(t).GetJSON(path, &page, opts...)
		pages = append(pages, page)
		path = ""
		if link := r.Header.Get("Link"); link != "" {
			m := nextPage.FindStringSubmatch(link)
			if m == nil {
				t.Fatalf("Link %q is not <...>; rel=\"next\"", link)
			}
			path = m[1]
		}
	}
	return pages
}

// cursorOf returns the cursor of the first page's next link.
func cursorOf(t *testing.T, e *testenv.Env, path string, opts ...testenv.Opt) string {
	t.Helper()
	r := e.Do(http.MethodGet, path, nil, opts...)
	m := nextPage.FindStringSubmatch(r.Header.Get("Link"))
	if r.Status != http.StatusOK || m == nil {
		t.Fatalf("GET %s: %d, Link %q: %s", path, r.Status, r.Header.Get("Link"), r.Body)
	}
	u, err := url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("cursor")
}

// listFixture has one list of each kind, with seven items each, and who may read them.
type listFixture struct {
	e      *testenv.Env
	admin  testenv.Session
	reader string // a metrics:read token
	lists  []pagedList
}

// pagedList is one list of the API, the key that names its items and the filter it was seeded for.
type pagedList struct {
	name, path, key, filter string
	as                      testenv.Opt
}

// newListFixture makes seven tokens (subject "svc-…"), seven runs of workload "team-a" (several
// sharing a start time, and runs of "team-b" at the same times) and their audit events.
func newListFixture(t *testing.T, db testenv.DB) listFixture {
	e := testenv.Start(t, db)
	admin := e.SignIn("admin@example.com", true)
	writer := e.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"pipeline:write"}, "workloads": []string{"*"}})
	reader := e.CreateToken(admin, map[string]any{"subject": "dash"})
	day := time.Date(2026, 2, 10, 8, 0, 0, 0, time.UTC)
	for i := range 7 {
		e.CreateToken(admin, map[string]any{"subject": fmt.Sprintf("svc-%d", i)})
		if i%3 == 2 { // three tokens in each second
			e.Clock.Advance(time.Second)
		}
		start := day.Add(time.Duration(i/3) * time.Hour) // three runs at each start
		for _, w := range []string{"team-a", "team-b"} {
			if r := e.Do(http.MethodPost, "/api/pipeline/runs", run(fmt.Sprintf("gh-%d", i), w, "build", "success", start, 60, nil), testenv.Bearer(writer.AccessToken)); r.Status != http.StatusCreated {
				t.Fatalf("record run: %d %s", r.Status, r.Body)
			}
		}
	}
	return listFixture{e: e, admin: admin, reader: reader.AccessToken, lists: []pagedList{
		{name: "tokens", path: "/api/tokens", key: "tokenId", filter: "subject=svc-", as: e.As(admin)},
		{name: "runs", path: "/api/pipeline/runs", key: "id", filter: "workload=team-a", as: testenv.Bearer(reader.AccessToken)},
		{name: "audit events", path: "/api/audit-events", key: "id", filter: "action=token.created", as: e.As(admin)},
	}}
}

// TestPagingLimitPolicy checks every list takes a limit from 1 to 1000 and refuses any other
// with the same 400, never clamping it.
func TestPagingLimitPolicy(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		f := newListFixture(t, db)
		for _, l := range f.lists {
			var details []string
			for _, q := range []string{"limit=0", "limit=-1", "limit=1001", "limit=500000", "limit=abc", "limit=2.5", "limit=1e3", "limit=0x10"} {
				r := f.e.Do(http.MethodGet, l.path+"?"+q, nil, l.as)
				details = append(details, testenv.WantProblem(t, r, http.StatusBadRequest).Detail)
			}
			for _, d := range details {
				if d != "limit must be a whole number from 1 to 1000" {
					t.Errorf("%s: detail %q, want the one limit message", l.name, d)
				}
			}
			if r := f.e.Do(http.MethodGet, l.path+"?limit=1000", nil, l.as); r.Status != http.StatusOK || r.Header.Get("Link") != "" {
				t.Errorf("%s?limit=1000: %d, Link %q: %s", l.name, r.Status, r.Header.Get("Link"), r.Body)
			}
		}
	})
}

// TestPagingVisitsEveryItemOnce follows the next links of every list, filtered and not, two
// items to a page, and checks they visit the unpaged list's items once each, in its order.
func TestPagingVisitsEveryItemOnce(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		f := newListFixture(t, db)
		for _, l := range f.lists {
			for _, filter := range []string{"", l.filter} {
				keys := func(pages [][]map[string]any) []string {
					var out []string
					for _, p := range pages {
						for _, item := range p {
							out = append(out, fmt.Sprint(item[l.key]))
						}
					}
					return out
				}
				all := followPages(t, f.e, l.path+"?"+filter, l.as)
				if len(all) != 1 || len(all[0]) < 7 {
					t.Fatalf("%s?%s unpaged: %d pages, first of %d items", l.name, filter, len(all), len(all[0]))
				}
				pages := followPages(t, f.e, l.path+"?limit=2&"+filter, l.as)
				for i, p := range pages {
					if len(p) > 2 || len(p) < 2 && i < len(pages)-1 {
						t.Errorf("%s?%s: page %d has %d items", l.name, filter, i, len(p))
					}
				}
				if got, want := keys(pages), keys(all); !slices.Equal(got, want) {
					t.Errorf("%s?%s: paging visited\n%v\nwant each item once, in order:\n%v", l.name, filter, got, want)
				}
			}
		}
	})
}

// TestPagingRefusesForeignAndTamperedCursors checks a cursor continues only the list and the
// filter it came from, and that one altered in transit is refused.
func TestPagingRefusesForeignAndTamperedCursors(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		f := newListFixture(t, db)
		cursors := map[string]string{}
		for _, l := range f.lists {
			cursors[l.name] = cursorOf(t, f.e, l.path+"?limit=2&"+l.filter, l.as)
		}
		for _, l := range f.lists {
			own := cursors[l.name]
			if r := f.e.Do(http.MethodGet, l.path+"?limit=2&"+l.filter+"&cursor="+own, nil, l.as); r.Status != http.StatusOK {
				t.Fatalf("%s with its own cursor: %d %s", l.name, r.Status, r.Body)
			}
			raw, _ := base64.RawURLEncoding.DecodeString(own)
			var envelope map[string]any
			if err := json.Unmarshal(raw, &envelope); err != nil {
				t.Fatalf("%s cursor is not base64url JSON: %v", l.name, err)
			}
			reencode := func(v any) string {
				b, _ := json.Marshal(v)
				return base64.RawURLEncoding.EncodeToString(b)
			}
			bad := map[string]string{
				"garbage":         "garbage!",
				"truncated":       own[:len(own)-3],
				"not json":        base64.RawURLEncoding.EncodeToString([]byte("not json")),
				"empty object":    reencode(map[string]any{}),
				"extra field":     reencode(map[string]any{"l": envelope["l"], "f": envelope["f"], "p": envelope["p"], "x": 1}),
				"other list name": reencode(map[string]any{"l": "elsewhere", "f": envelope["f"], "p": envelope["p"]}),
				"other filter":    reencode(map[string]any{"l": envelope["l"], "f": "0", "p": envelope["p"]}),
				"empty position":  reencode(map[string]any{"l": envelope["l"], "f": envelope["f"], "p": map[string]any{}}),
				"bad position":    reencode(map[string]any{"l": envelope["l"], "f": envelope["f"], "p": "x"}),
				"tampered byte":   string(own[0]^1) + own[1:],
			}
			for other, c := range cursors {
				if other != l.name {
					bad["cursor of "+other] = c
				}
			}
			for what, c := range bad {
				r := f.e.Do(http.MethodGet, l.path+"?limit=2&"+l.filter+"&cursor="+url.QueryEscape(c), nil, l.as)
				if r.Status != http.StatusBadRequest {
					t.Errorf("%s, %s cursor: %d, want 400: %s", l.name, what, r.Status, r.Body)
					continue
				}
				if d := testenv.WantProblem(t, r, http.StatusBadRequest).Detail; !strings.HasPrefix(d, "cursor is not one this server gave out") {
					t.Errorf("%s, %s cursor: detail %q", l.name, what, d)
				}
			}
			// The cursor of a filtered list does not continue the unfiltered one.
			if r := f.e.Do(http.MethodGet, l.path+"?limit=2&cursor="+own, nil, l.as); r.Status != http.StatusBadRequest {
				t.Errorf("%s: the cursor of ?%s continued the unfiltered list: %d", l.name, l.filter, r.Status)
			}
		}
	})
}

// TestPagingHeadersAndBodies checks each list's body is a JSON array (also when empty), that
// X-Total-Count comes with the token list only, and that a short last page has no next link.
func TestPagingHeadersAndBodies(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		f := newListFixture(t, db)
		for _, l := range f.lists {
			r := f.e.Do(http.MethodGet, l.path+"?limit=2&"+l.filter, nil, l.as)
			_, hasTotal := r.Header["X-Total-Count"]
			if hasTotal != (l.name == "tokens") {
				t.Errorf("%s: X-Total-Count %q", l.name, r.Header.Get("X-Total-Count"))
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: Cache-Control %q", l.name, r.Header.Get("Cache-Control"))
			}
			empty := map[string]string{"tokens": "subject=nobody", "runs": "workload=nobody", "audit events": "action=nothing.happened"}[l.name]
			r = f.e.Do(http.MethodGet, l.path+"?limit=2&"+empty, nil, l.as)
			if r.Status != http.StatusOK || string(r.Body) != "[]" || r.Header.Get("Link") != "" {
				t.Errorf("%s?%s: %d, Link %q, body %s; want [] and no link", l.name, empty, r.Status, r.Header.Get("Link"), r.Body)
			}
		}
		if r := f.e.Do(http.MethodGet, "/api/tokens?limit=2&subject=svc-", nil, f.e.As(f.admin)); r.Header.Get("X-Total-Count") != "7" {
			t.Errorf("tokens?subject=svc-: X-Total-Count %q, want 7", r.Header.Get("X-Total-Count"))
		}
	})
}
