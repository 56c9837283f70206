package attack

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

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
	if r := e.Do(http.MethodDelete, "/api/tokens/"+revoked.TokenID, nil, e.As(admin)); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d", r.Status)
	}
	if r := e.Do(http.MethodGet, "/api/system/config", nil, bearerOf(alive)); r.Status != http.StatusOK {
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
	r := e.Do(http.MethodGet, "/api/system/config", nil, bearerOf(alive))
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
	if r := e.Do(http.MethodGet, "/api/system/config", nil, bearerOf(alive)); r.Status != http.StatusOK {
		t.Errorf("valid token after the outage: %d", r.Status)
	}
	if r := e.Do(http.MethodGet, "/api/system/config", nil, bearerOf(revoked)); r.Status != http.StatusUnauthorized {
		t.Errorf("token revoked before the outage: %d, want 401", r.Status)
	}
	// A replica that starts after the outage knows the revocation too.
	e2 := testenv.Start(t, testenv.DB{Driver: "mysql", DSN: cfg.FormatDSN()}, testenv.Settings{Clock: e.Clock})
	if r := e2.Do(http.MethodGet, "/api/system/config", nil, bearerOf(revoked)); r.Status != http.StatusUnauthorized {
		t.Errorf("new replica, revoked token: %d", r.Status)
	}
	if r := e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "after"}, e.As(admin)); r.Status != http.StatusCreated {
		t.Errorf("create after the outage: %d", r.Status)
	}
}

func bearerOf(c testenv.CreatedToken) testenv.Opt { return testenv.Bearer(c.AccessToken) }
