package scenario

import (
	"context"
	"database/sql"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/go-sql-driver/mysql"
)

// proxy is a TCP proxy between CodeMetrics and MariaDB that a test can cut and restore.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every connection: the database is gone.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// restore listens again on the same address: the database is back.
func (p *proxy) restore() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("restore proxy: %v", err)
	}
	p.serve(ln)
}

// TestDatabaseOutage cuts MariaDB away mid-use: requests get 503 problem+json (never 500, never a
// hang), /readyz says not ready, service resumes by itself, and a revocation committed before
// the outage is still enforced after it.
func TestDatabaseOutage(t *testing.T) {
	db := testenv.MySQL(t) // skips without MariaDB, fails instead with CI=true
	cfg, err := mysql.ParseDSN(db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	px := startProxy(t, cfg.Addr)
	cfg.Addr = px.addr
	cfg.Timeout = 2 * time.Second
	cfg.ReadTimeout = 2 * time.Second
	cfg.WriteTimeout = 2 * time.Second
	e := testenv.Start(t, testenv.DB{Driver: "mysql", DSN: cfg.FormatDSN()})
	admin := e.SignIn("admin@example.com", true)
	revoked := e.CreateToken(admin, map[string]any{"subject": "revoked-before"})
	alive := e.CreateToken(admin, map[string]any{"subject": "alive"})
	e.Revoke(admin, revoked.TokenID)
	if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(alive.AccessToken)); r.Status != http.StatusOK {
		t.Fatalf("before the outage: %d", r.Status)
	}

	px.cut()
	// What needs the database fails fast and cleanly.
	for name, do := range map[string]func() *testenv.Response{
		"create token": func() *testenv.Response {
			return e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "during"}, e.As(admin))
		},
		"list tokens": func() *testenv.Response { return e.Do(http.MethodGet, "/api/tokens", nil, e.As(admin)) },
		"readyz":      func() *testenv.Response { return e.Do(http.MethodGet, "/readyz", nil) },
	} {
		start := time.Now()
		r := do()
		if r.Status != http.StatusServiceUnavailable {
			t.Errorf("%s during the outage: %d %s, want 503", name, r.Status, r.Body)
		}
		if took := time.Since(start); took > 15*time.Second {
			t.Errorf("%s took %v: the server hangs on a dead database", name, took)
		}
	}
	// Once the feed is older than its bound, even cached tokens fail closed.
	e.Clock.Advance(11 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := e.Server.Guard.Sync(ctx); err == nil {
		t.Fatal("the feed read should fail during the outage")
	}
	cancel()
	r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(alive.AccessToken))
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Content-Type") != "application/problem+json" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("stale feed: %d %q %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}

	px.restore()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := e.Server.Guard.Sync(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not reconnect: %v", err)
		}
	}
	if r := e.Do(http.MethodGet, "/readyz", nil); r.Status != http.StatusOK {
		t.Errorf("readyz after the outage: %d %s", r.Status, r.Body)
	}
	if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(alive.AccessToken)); r.Status != http.StatusOK {
		t.Errorf("valid token after the outage: %d", r.Status)
	}
	if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(revoked.AccessToken)); r.Status != http.StatusUnauthorized {
		t.Errorf("token revoked before the outage: %d, want 401", r.Status)
	}
	// A replica that starts after the outage knows the revocation too.
	e2 := testenv.Start(t, testenv.DB{Driver: "mysql", DSN: cfg.FormatDSN()}, testenv.Settings{Clock: e.Clock})
	if r := e2.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(revoked.AccessToken)); r.Status != http.StatusUnauthorized {
		t.Errorf("new replica, revoked token: %d", r.Status)
	}
	if r := e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "after"}, e.As(admin)); r.Status != http.StatusCreated {
		t.Errorf("create after the outage: %d", r.Status)
	}
}

// TestFailClosed checks that a server which has not read the revocation feed for more than ten
// seconds refuses service tokens with 503 instead of trusting its cache, and recovers.
func TestFailClosed(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		used := e.CreateToken(admin, map[string]any{"subject": "used"})
		unused := e.CreateToken(admin, map[string]any{"subject": "unused"})
		health := func() {
			t.Helper()
			if r := e.Do(http.MethodGet, "/healthz", nil); r.Status != http.StatusOK {
				t.Errorf("/healthz: %d %s, want 200", r.Status, r.Body)
			}
		}
		if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(used.AccessToken)); r.Status != http.StatusOK {
			t.Fatalf("fresh: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/readyz", nil); r.Status != http.StatusOK {
			t.Errorf("/readyz when fresh: %d %s", r.Status, r.Body)
		}
		health()

		e.Clock.Advance(11 * time.Second)
		for name, tok := range map[string]string{"cached": used.AccessToken, "never used": unused.AccessToken} {
			r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok))
			if r.Status != http.StatusServiceUnavailable {
				t.Errorf("%s token with a stale revocation feed: %d %s, want 503", name, r.Status, r.Body)
				continue
			}
			testenv.WantProblem(t, r, http.StatusServiceUnavailable)
			if r.Header.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After")
			}
		}
		if r := e.Do(http.MethodGet, "/readyz", nil); r.Status != http.StatusServiceUnavailable {
			t.Errorf("/readyz with a stale revocation feed: %d %s, want 503", r.Status, r.Body)
		}
		health()

		e.Sync()
		for name, tok := range map[string]string{"cached": used.AccessToken, "never used": unused.AccessToken} {
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok)); r.Status != http.StatusOK {
				t.Errorf("%s token after the feed was read again: %d %s", name, r.Status, r.Body)
			}
		}
		if r := e.Do(http.MethodGet, "/readyz", nil); r.Status != http.StatusOK {
			t.Errorf("/readyz after the feed was read again: %d %s", r.Status, r.Body)
		}
		health()
	})
}

// TestHandEditsAreEnforcedWithinTheRecheckInterval deletes one token's row and sets another's
// revoked_at by hand, with SQL, bypassing the revocation feed: both are still accepted from
// the cache before TOKEN_RECHECK_INTERVAL and refused after it. The statement counter shows
// the price: none per request, and exactly one re-check per token per interval, even with many
// requests at once. Before, a cached token was trusted until it expired.
func TestHandEditsAreEnforcedWithinTheRecheckInterval(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		var queries atomic.Int64
		e := testenv.Start(t, db, testenv.Settings{Store: store.Options{Queries: &queries}, Env: map[string]string{"TOKEN_RECHECK_INTERVAL": "5m"}})
		conn := db.SQL(t)
		admin := e.SignIn("admin@example.com", true)
		deleted := e.CreateToken(admin, map[string]any{"subject": "deleted-by-hand"})
		revoked := e.CreateToken(admin, map[string]any{"subject": "revoked-by-hand"})
		kept := e.CreateToken(admin, map[string]any{"subject": "kept"})
		all := []testenv.CreatedToken{deleted, revoked, kept}
		use := func(tok testenv.CreatedToken) int {
			t.Helper()
			return e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)).Status
		}
		// advance moves the clock and reads the feed (one statement), then zeroes the count.
		advance := func(d time.Duration) {
			e.Clock.Advance(d)
			e.Sync()
			queries.Store(0)
		}
		queries.Store(0)
		for _, tok := range all {
			if s := use(tok); s != http.StatusOK {
				t.Fatalf("first use: %d", s)
			}
		}
		if n := queries.Load(); n != 3 {
			t.Errorf("first use of 3 tokens: %d statements, want 3 look-ups", n)
		}

		if _, err := conn.Exec("DELETE FROM service_tokens WHERE id = ?", deleted.TokenID); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec("UPDATE service_tokens SET revoked_at = ?, revoked_by = 'dba' WHERE id = ?", e.Clock.Now().UnixMilli(), revoked.TokenID); err != nil {
			t.Fatal(err)
		}
		advance(5*time.Minute - time.Second)
		for range 20 {
			for _, tok := range all {
				if s := use(tok); s != http.StatusOK {
					t.Fatalf("within the interval the cache answers: %d, want 200", s)
				}
			}
		}
		if n := queries.Load(); n != 0 {
			t.Errorf("60 requests within the interval: %d statements, want 0", n)
		}

		// Past the interval, 30 requests per token at once: one re-check each.
		advance(time.Second)
		client := e.HTTP.Client()
		var wg sync.WaitGroup
		for range 30 {
			for _, tok := range all {
				wg.Go(func() {
					req, _ := http.NewRequest(http.MethodGet, e.URL+"/api/system/config", nil)
					req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
					resp, err := client.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
						t.Errorf("concurrent request: %d", resp.StatusCode)
					}
				})
			}
		}
		wg.Wait()
		if n := queries.Load(); n != 3 {
			t.Errorf("90 concurrent requests past the interval: %d statements, want 3 (one re-check per token)", n)
		}
		if s := use(deleted); s != http.StatusUnauthorized {
			t.Errorf("row deleted by hand, after the interval: %d, want 401", s)
		}
		if s := use(revoked); s != http.StatusUnauthorized {
			t.Errorf("revoked_at set by hand, after the interval: %d, want 401", s)
		}
		if s := use(kept); s != http.StatusOK {
			t.Errorf("untouched token: %d, want 200", s)
		}
		if n := queries.Load(); n != 3 {
			t.Errorf("refusing what a re-check found: %d more statements, want 0", n-3)
		}

		// The next interval: one statement for the one token still in use, whatever the traffic.
		advance(5 * time.Minute)
		for range 50 {
			if s := use(kept); s != http.StatusOK {
				t.Fatalf("untouched token, next interval: %d", s)
			}
		}
		if n := queries.Load(); n != 1 {
			t.Errorf("50 requests in the next interval: %d statements, want 1", n)
		}
	})
}

// TestRevocationAfterARestoreIsEnforced restores the database from a backup taken before three
// revocations, then revokes three other tokens, through the API and the command line's path:
// the feed's counter is back where it was and its last entry is another token's. Instance B,
// which had read the feed up to the lost revocations, must notice, read the feed again and
// refuse the new revocations within one read; it keeps refusing what it knew was revoked and
// names those tokens for the operator. Before, B read "above 4" for ever and never saw them.
func TestRevocationAfterARestoreIsEnforced(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		clock := testenv.NewClock()
		var bQueries atomic.Int64
		a := testenv.Start(t, db, testenv.Settings{Clock: clock})
		b := testenv.Start(t, db, testenv.Settings{Clock: clock, Store: store.Options{Queries: &bQueries}})
		conn := db.SQL(t)
		admin := a.SignIn("admin@example.com", true)
		use := func(e *testenv.Env, tok testenv.CreatedToken) int {
			t.Helper()
			return e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)).Status
		}
		mk := func(subject string) testenv.CreatedToken {
			return a.CreateToken(admin, map[string]any{"subject": subject})
		}
		early, x, y, z := mk("early"), mk("x"), mk("y"), mk("z")
		lost := []testenv.CreatedToken{mk("lost-1"), mk("lost-2"), mk("lost-3")}
		a.Revoke(admin, early.TokenID) // seq 1
		for _, tok := range []testenv.CreatedToken{x, y, z} {
			if s := use(b, tok); s != http.StatusOK {
				t.Fatalf("B refuses %s before anything happened: %d", tok.TokenID, s)
			}
		}

		backup := takeDump(t, conn, "service_tokens", "revocation_feed")
		for _, tok := range lost {
			a.Revoke(admin, tok.TokenID) // seq 2, 3, 4
		}
		b.Sync()
		late := mk("minted-after-the-backup")
		if s := use(b, late); s != http.StatusOK {
			t.Fatalf("B refuses a new token: %d", s)
		}

		backup.restore(t, conn)    // the counter is 1 again; lost-1..3 are active; late is gone
		a.Revoke(admin, x.TokenID) // seq 2 again, through the API of instance A
		// seq 3 through what `codemetrics tokens revoke` runs: server.New, then Tokens.Revoke.
		cli := testenv.Start(t, db, testenv.Settings{Clock: clock})
		if _, err := cli.Server.Tokens.Revoke(context.Background(), y.TokenID, audit.CLI("ops"), ""); err != nil {
			t.Fatal(err)
		}
		a.Revoke(admin, z.TokenID) // seq 4: the counter is back where B's cursor is, with another token there

		b.Sync()
		for name, tok := range map[string]testenv.CreatedToken{"x (API)": x, "y (command line)": y, "z (API)": z, "minted after the backup": late} {
			if s := use(b, tok); s != http.StatusUnauthorized {
				t.Errorf("B after the restore and one feed read: %s: %d, want 401", name, s)
			}
		}
		// Fail safe: what B knew was revoked stays refused on B, and B names it for the operator.
		for _, tok := range append(lost, early) {
			if s := use(b, tok); s != http.StatusUnauthorized {
				t.Errorf("B accepts %s, revoked before the restore: %d", tok.TokenID, s)
			}
		}
		logs := b.Logs.String()
		if !strings.Contains(logs, `"level":"ERROR","msg":"the revocation feed went backwards or was replaced`) ||
			!strings.Contains(logs, `"cursor_seq":4`) || !strings.Contains(logs, `"database_seq":4`) {
			t.Errorf("B did not log the replaced feed with its cursor and the database's counter:\n%s", logs)
		}
		for _, tok := range lost {
			if !strings.Contains(logs, "revoke them again") || !strings.Contains(logs, tok.TokenID) {
				t.Errorf("B does not name %s, revoked before the restore and active again", tok.TokenID)
			}
		}
		var ready map[string]any
		b.Do(http.MethodGet, "/readyz", nil).JSON(t, &ready)
		if ready["revocationFeedResets"] != float64(1) || ready["revocationFeedLastReset"] == nil {
			t.Errorf("/readyz on B = %v, want revocationFeedResets 1 and the time", ready)
		}

		// Back to the steady state: one statement per read of the feed, no further reset.
		bQueries.Store(0)
		b.Sync()
		if n := bQueries.Load(); n != 1 {
			t.Errorf("a read of the feed after the reset made %d statements, want 1", n)
		}
		if n, _ := b.Server.Guard.FeedResets(); n != 1 {
			t.Errorf("B counted %d resets, want 1", n)
		}
		// And a revocation after all that reaches B the ordinary way.
		other := mk("after")
		if s := use(b, other); s != http.StatusOK {
			t.Fatalf("B refuses a new token: %d", s)
		}
		a.Revoke(admin, other.TokenID)
		b.Sync()
		if s := use(b, other); s != http.StatusUnauthorized {
			t.Errorf("B accepts a token revoked after the reset: %d", s)
		}
	})
}

// dumpTables is what a backup holds of some tables: every row.
type dumpTables map[string][][]any

func takeDump(t *testing.T, conn *sql.DB, tables ...string) dumpTables {
	t.Helper()
	d := dumpTables{}
	for _, table := range tables {
		d[table] = testenv.TableRows(t, conn, table)
	}
	return d
}

// restore empties the tables and puts the dumped rows back, as restoring the backup does.
func (d dumpTables) restore(t *testing.T, conn *sql.DB) {
	t.Helper()
	tx, err := conn.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for table, rows := range d {
		if _, err := tx.Exec("DELETE FROM " + table); err != nil {
			t.Fatalf("restore %s: %v", table, err)
		}
		for _, r := range rows {
			q := "INSERT INTO " + table + " VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(r)), ", ") + ")"
			if _, err := tx.Exec(q, r...); err != nil {
				t.Fatalf("restore %s: %v", table, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
