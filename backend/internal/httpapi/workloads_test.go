package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestListWorkloads: GET /api/workloads is every workload by name, as before; the dashboard asks
// for the most recently active first, searches by a part of the name and takes the first ones.
func TestListWorkloads(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
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
