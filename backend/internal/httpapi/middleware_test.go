package httpapi_test

import (
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

var (
	methodLabel = regexp.MustCompile(`codemetrics_http_requests_total\{method="([^"]*)"`)
	logMethod   = regexp.MustCompile(`"method":"([^"]*)"`)
)

// series returns the request series of a scrape and the method label values in it.
func series(t *testing.T, e *testenv.Env) (int, map[string]bool) {
	t.Helper()
	methods := map[string]bool{}
	n := 0
	for _, line := range strings.Split(scrape(t, e), "\n") {
		if m := methodLabel.FindStringSubmatch(line); m != nil {
			n++
			methods[m[1]] = true
		}
	}
	return n, methods
}

func randomMethod(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('A' + rand.IntN(26))
	}
	return string(b)
}

// A client choosing the method chooses nothing in the metrics: every method outside the known
// set is OTHER, so random methods grow no series, and none is echoed back either.
func TestRandomMethodsGrowNoSeries(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t))
	paths := []string{"/api/tokens", "/api/no-such-thing", "/healthz", "/"}
	send := func(count, size int) {
		for i := range count {
			m := randomMethod(size)
			r := e.Do(m, paths[i%len(paths)], nil)
			if strings.Contains(string(r.Body), m[:64]) {
				t.Fatalf("%s answered %d echoing the method: %.200s", paths[i%len(paths)], r.Status, r.Body)
			}
		}
	}
	send(20, 1000)
	before, _ := series(t, e)
	send(280, 1000)
	send(8, 30_000)
	after, methods := series(t, e)
	if after != before {
		t.Errorf("%d request series after 20 random methods, %d after 308", before, after)
	}
	for m := range methods {
		if !strings.Contains(" GET HEAD POST PUT PATCH DELETE OPTIONS OTHER ", " "+m+" ") {
			t.Errorf("method label %.40q is not in the known set", m)
		}
	}
	if !methods["OTHER"] {
		t.Error("no OTHER series")
	}
	for _, m := range logMethod.FindAllStringSubmatch(e.Logs.String(), -1) {
		if len(m[1]) > 20 {
			t.Fatalf("a log line carries a %d-byte method", len(m[1]))
		}
	}
	// Known methods keep their own label; a 405 names only a known method.
	r := e.Do(http.MethodPut, "/api/tokens", nil)
	if p := wantProblem(t, r, http.StatusMethodNotAllowed); !strings.Contains(p.Detail, "PUT") {
		t.Errorf("405 detail %q does not name PUT", p.Detail)
	}
	if _, methods := series(t, e); !methods["PUT"] {
		t.Error("no PUT series")
	}
}
