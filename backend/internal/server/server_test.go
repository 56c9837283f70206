package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/server"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

// listening has Serve listen on a free port and serve no metrics, unless a test says otherwise.
var listening = testenv.Settings{Env: map[string]string{"HTTP_ADDR": "127.0.0.1:0", "METRICS_ADDR": "off"}}

// serve runs srv.Serve until stop is called, and returns the address it listens on and where
// Serve's result arrives.
func serve(t *testing.T, srv *server.Server) (addr string, stop func(), done <-chan error) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, func(a string) { addrc <- a }) }()
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatalf("Serve: %v", err)
	}
	return addr, stop, errc
}

// TestGracefulShutdownUnderLoad stops a real server while clients hammer it: every answer that
// arrives is complete and 200, new connections are refused once it stops, it exits within its
// bound, and the last-use times of the load are flushed on the way out.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	db := testenv.SQLite(t)
	srv, _ := testenv.New(t, db, listening)
	created, err := srv.Tokens.Create(context.Background(), token.CreateRequest{Subject: "load", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, done := serve(t, srv)
	url := "http://" + addr + "/api/system/config"

	var ok, bad atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second, Transport: testenv.Validating(t, nil)}
	for range 8 {
		wg.Go(func() {
			for range 500 { // bounded
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Header.Set("Authorization", "Bearer "+created.Value)
				resp, err := client.Do(req)
				if err != nil {
					if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
						t.Logf("request error after shutdown began: %v", err)
					}
					return // the server is gone: this client stops
				}
				body, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				if rerr != nil || resp.StatusCode != http.StatusOK || !json.Valid(body) {
					bad.Add(1)
					t.Errorf("a truncated or failed answer: %d %v %q", resp.StatusCode, rerr, body)
					return
				}
				if ok.Add(1) == 300 {
					stop() // like SIGTERM, mid-load
				}
			}
		})
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop within 30 s")
	}
	wg.Wait()
	if ok.Load() < 300 || bad.Load() != 0 {
		t.Fatalf("%d good answers, %d bad", ok.Load(), bad.Load())
	}
	if _, err := client.Get(url); err == nil {
		t.Fatal("the server still accepts connections after shutdown")
	}
	tok, err := testenv.Store(t, db).GetToken(context.Background(), created.Token.ID)
	if err != nil || tok.LastUsedAt == nil {
		t.Fatalf("last use not flushed at shutdown: %+v %v", tok, err)
	}
}

// TestServerLimits checks what stops slow and oversized clients: every timeout set, headers
// capped, and a 1 MB Authorization header refused without reaching a handler.
func TestServerLimits(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t))
	hs := e.Server.HTTPServer()
	if hs.ReadHeaderTimeout == 0 || hs.ReadTimeout == 0 || hs.WriteTimeout == 0 || hs.IdleTimeout == 0 || hs.MaxHeaderBytes == 0 || hs.MaxHeaderBytes > 1<<20 {
		t.Fatalf("server limits not all set: %+v", hs)
	}
	r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(strings.Repeat("A", 1<<20)))
	if r.Status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("1 MB Authorization header: %d, want 431", r.Status)
	}
	if strings.Contains(e.Logs.String(), strings.Repeat("A", 1000)) {
		t.Error("the oversized header reached the logs")
	}
}

// TestPurgeDeletesEndedSessionsAndStates: the background purge deletes sessions past their
// lifetime or idle timeout and used sign-in states past their expiry; live ones stay.
func TestPurgeDeletesEndedSessionsAndStates(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db, testenv.Settings{Env: map[string]string{"SESSION_TTL": "8h", "SESSION_IDLE_TIMEOUT": "1h"}})
		ctx := context.Background()
		expired := e.SignIn("old@example.com", true)
		e.Clock.Advance(7*time.Hour + 30*time.Minute)
		idle := e.SignIn("idle@example.com", true)
		live := e.SignIn("live@example.com", true)
		if err := e.Server.Store.MarkLoginStateUsed(ctx, "state-1", e.Clock.Now().Add(10*time.Minute), e.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(59 * time.Minute)
		e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(live))
		e.Clock.Advance(2 * time.Minute) // old: past 8h; idle: 61 min unused; live: seen 2 min ago

		e.Purge()
		for name, id := range map[string]string{"expired": expired.ID, "idle": idle.ID} {
			if _, err := e.Server.Store.SessionByID(ctx, id); !apperr.Is(err, apperr.NotFound) {
				t.Errorf("%s session still stored: %v", name, err)
			}
		}
		if _, err := e.Server.Store.SessionByID(ctx, live.ID); err != nil {
			t.Errorf("live session purged: %v", err)
		}
		// The used state is gone: marking it again succeeds instead of Conflict.
		if err := e.Server.Store.MarkLoginStateUsed(ctx, "state-1", e.Clock.Now().Add(10*time.Minute), e.Clock.Now()); err != nil {
			t.Errorf("expired sign-in state not purged: %v", err)
		}
	})
}

// TestMetricsAreServedOnTheirOwnAddress: Serve answers the Prometheus scrape on METRICS_ADDR
// only, never on the public address, and stops both listeners when it stops.
func TestMetricsAreServedOnTheirOwnAddress(t *testing.T) {
	srv, logs := testenv.New(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{"HTTP_ADDR": "127.0.0.1:0", "METRICS_ADDR": "localhost:0"}})
	addr, stop, done := serve(t, srv)
	var metricsAddr string
	for _, line := range strings.Split(logs.String(), "\n") {
		var l struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "serving metrics" {
			metricsAddr = l.Addr
		}
	}
	if metricsAddr == "" || metricsAddr == addr {
		t.Fatalf("metrics listen on %q (public address %s); logs:\n%s", metricsAddr, addr, logs)
	}
	get := func(u string) (int, string, error) {
		resp, err := http.Get(u)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	if status, body, err := get("http://" + metricsAddr + "/metrics"); err != nil || status != http.StatusOK || !strings.Contains(body, "codemetrics_revocation_feed_age_seconds") {
		t.Errorf("GET /metrics on METRICS_ADDR: %d %v %.200s", status, err, body)
	}
	if status, body, err := get("http://" + addr + "/metrics"); err != nil || status != http.StatusNotFound || strings.Contains(body, "codemetrics_") {
		t.Errorf("GET /metrics on the public address: %d %v %.200s", status, err, body)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	for _, a := range []string{addr, metricsAddr} {
		if _, _, err := get("http://" + a + "/healthz"); err == nil {
			t.Errorf("%s still answers after Serve returned", a)
		}
	}
}

// TestServeNamesATakenAddress: an address another process holds is an error that names it (and
// METRICS_ADDR, for the metrics), returned at once rather than served half.
func TestServeNamesATakenAddress(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for name, env := range map[string]map[string]string{
		"HTTP_ADDR":    {"HTTP_ADDR": taken.Addr().String(), "METRICS_ADDR": "off"},
		"METRICS_ADDR": {"HTTP_ADDR": "127.0.0.1:0", "METRICS_ADDR": taken.Addr().String()},
	} {
		t.Run(name, func(t *testing.T) {
			srv, _ := testenv.New(t, testenv.SQLite(t), testenv.Settings{Env: env})
			err := srv.Serve(context.Background(), func(string) { t.Error("Serve is ready on a taken address") })
			if err == nil || !strings.Contains(err.Error(), taken.Addr().String()) || name == "METRICS_ADDR" && !strings.Contains(err.Error(), "METRICS_ADDR") {
				t.Errorf("Serve = %v, want an error naming %s", err, taken.Addr())
			}
		})
	}
}

// TestRunBackgroundFlushesOnItsWayOut: the wait function RunBackground returns comes back once
// its loops have stopped, the last-use times of the requests before them written.
func TestRunBackgroundFlushesOnItsWayOut(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t))
	admin := e.SignIn("admin@example.com", true)
	tok := e.CreateToken(admin, map[string]any{"subject": "ci"})
	if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)); r.Status != http.StatusOK {
		t.Fatalf("use: %d %s", r.Status, r.Body)
	}
	if l := e.ListTokens(admin); len(l) != 1 || l[0].LastUsed != nil {
		t.Fatalf("last use written before any flush: %+v", l)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wait := e.Server.RunBackground(ctx)
	cancel()
	wait()
	if l := e.ListTokens(admin); len(l) != 1 || l[0].LastUsed == nil || *l[0].LastUsed != testenv.Epoch.Format(testenv.TimeFormat) {
		t.Errorf("after RunBackground stopped: %+v, want lastUsed %s", l, testenv.Epoch.Format(testenv.TimeFormat))
	}
}
