package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/codemetrics/codemetrics/bench/internal/instance"
	"github.com/codemetrics/codemetrics/bench/internal/load"
	"github.com/codemetrics/codemetrics/bench/internal/results"
)

// tokenSteps are the numbers of active tokens the list is measured at, and how many unpaged
// requests are timed at each (the paged request is timed 200 times).
var tokenSteps = []struct{ tokens, unpaged int }{{10000, 30}, {100000, 10}}

// tokens is section 4: GET /api/tokens as an administrator, unpaged and paged, and the tokens
// page in Chromium, at each of tokenSteps. Tokens are issued through the API
// (POST /api/tokens), as an administrator would.
func tokens(ctx context.Context, db *DB) error {
	admin, err := db.Admin(ctx)
	if err != nil {
		return err
	}
	bearer := http.Header{"Authorization": {"Bearer " + admin.Bearer}}
	seeded := 0
	for _, step := range tokenSteps {
		t0 := time.Now()
		if err := db.issueTokens(ctx, admin.Bearer, seeded, step.tokens-seeded); err != nil {
			return err
		}
		db.Logf("  issued %d tokens through POST /api/tokens in %.1f s", step.tokens-seeded, time.Since(t0).Seconds())
		seeded = step.tokens
		for _, page := range []struct {
			name, query string
			requests    uint64
			warmup      time.Duration
		}{{"all", "", uint64(step.unpaged), time.Second}, {"50", "?limit=50", 200, 500 * time.Millisecond}} {
			res, err := load.Run(ctx, load.Config{
				Target: vegeta.Target{Method: http.MethodGet, URL: db.A.URL + "/api/tokens" + page.query, Header: bearer},
				Conns:  1, Requests: page.requests, Warmup: page.warmup, KeepBodies: true,
			})
			if err != nil {
				return err
			}
			if res.NotOK() > 0 {
				return fmt.Errorf("GET /api/tokens%s: %d answers not 2xx (%v) %s", page.query, res.NotOK(), res.Statuses, res.FirstError)
			}
			db.Logf("  %d tokens, GET /api/tokens%s: p50 %.1f ms, p99 %.1f ms, %.0f bytes", step.tokens, page.query, res.P50Ms, res.P99Ms, res.BodyBytes)
			db.R.TokenList = append(db.R.TokenList, results.TokenList{Tokens: step.tokens, Page: page.name, Result: res})
		}
		if err := db.tokensPage(ctx, admin.SessionCookie.Value, step.tokens); err != nil {
			return err
		}
	}
	return nil
}

// issueTokens issues n service tokens through POST /api/tokens, numbered from first, on an
// instance of its own on the same database (the administrator's session token is good on
// every instance): on SQLite it does not wait for the disk at each commit, so that 100,000
// tokens take a minute or two, not ten; what is measured afterwards is instance A as
// configured. On MariaDB, commits of concurrent requests are flushed together.
func (db *DB) issueTokens(ctx context.Context, bearer string, first, n int) error {
	p, err := instance.FreePorts()
	if err != nil {
		return err
	}
	env := db.serverEnv(p)
	if db.Driver == "sqlite" {
		env = append(env, "DATABASE_DSN="+db.DSN+"?_pragma=synchronous(OFF)")
	}
	seeder, err := instance.Start(ctx, instance.Spec{Name: db.Name + "-seeder", Path: db.Bin, Env: env, LogDir: db.Work}, p)
	if err != nil {
		return err
	}
	defer seeder.Stop()
	var next atomic.Int64
	next.Store(int64(first))
	h := http.Header{"Authorization": {"Bearer " + bearer}, "Content-Type": {"application/json"}}
	tr := func(t *vegeta.Target) error {
		i := next.Add(1) - 1
		*t = vegeta.Target{Method: http.MethodPost, URL: seeder.URL + "/api/tokens", Header: h,
			Body: []byte(`{"subject":"bench-service-` + fmt.Sprintf("%06d", i) + `"}`)}
		return nil
	}
	const conns = 16
	var failed int
	var firstFailure string
	for r := range load.Attacker(load.Client(conns), conns, false, false).Attack(tr, load.ClosedLoop(uint64(n)), 0, "") {
		if r.Code != http.StatusCreated {
			failed++
			if firstFailure == "" {
				firstFailure = strconv.Itoa(int(r.Code)) + " " + r.Error
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if failed > 0 {
		return fmt.Errorf("POST /api/tokens: %d of %d failed, the first with %s", failed, n, firstFailure)
	}
	return nil
}

// browserSkipped says why the tokens page is not measured in Chromium ("": it is).
func (b *Bench) browserSkipped() string {
	switch {
	case !b.Browser:
		return "BENCH_BROWSER=0"
	case !found("node"):
		return "Node.js is not installed"
	case !exists(filepath.Join(b.Root, "e2e", "node_modules", "@playwright", "test")):
		return "the e2e/ packages are not installed (make deps)"
	case !exists(b.ChromiumPath):
		return "no Chromium at " + b.ChromiumPath + " (set CHROMIUM_PATH)"
	}
	return ""
}

// tokensPage is the tokens page in Chromium (e2e/bench/tokens-page.mjs), signed in with the
// session cookie. A failed measurement is reported, not fatal.
func (db *DB) tokensPage(ctx context.Context, session string, tokens int) error {
	if _, skipped := db.Results.Run.Skipped["browser"]; skipped {
		return nil
	}
	db.Logf("  %d tokens: the tokens page in Chromium (%d loads)", tokens, db.BrowserLoads)
	out, err := db.browserScript(ctx, "bench/tokens-page.mjs", session, "--url", db.A.URL, "--loads", strconv.Itoa(db.BrowserLoads),
		"--tag", "db="+db.Name, "--tag", "tokens="+strconv.Itoa(tokens))
	page := results.TokensPage{Tokens: tokens}
	if err == nil {
		err = json.Unmarshal(out, &page)
	}
	if err != nil {
		db.Logf("bench: the tokens page measurement failed (%s, %d tokens): %v; the report says so", db.Name, tokens, err)
		page = results.TokensPage{Tokens: tokens, Failed: err.Error()}
	}
	page.Tokens = tokens
	db.R.TokensPage = append(db.R.TokensPage, page)
	return nil
}

func found(name string) bool { _, err := exec.LookPath(name); return err == nil }

func exists(path string) bool { _, err := os.Stat(path); return err == nil }
