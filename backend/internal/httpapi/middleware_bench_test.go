package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/codemetrics/codemetrics/backend/internal/auth"
	"github.com/codemetrics/codemetrics/backend/internal/config"
	"github.com/codemetrics/codemetrics/backend/internal/server"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

// Benchmarks of the whole authenticated request path through the gin router (make bench):
// go test -run '^$' -bench . -benchmem -count 5 ./internal/httpapi/

type benchServer struct {
	srv     *server.Server
	queries *atomic.Int64
	token   string
}

// newBenchServer starts CodeMetrics in-process on a fresh SQLite file with the request log
// discarded, as the benchmark servers write it to a file nobody reads. dsnQuery is added to
// the database's DSN.
func newBenchServer(b *testing.B, dsnQuery ...string) *benchServer {
	env := map[string]string{
		"DATABASE_DRIVER": "sqlite", "DATABASE_DSN": filepath.Join(b.TempDir(), "bench.db") + strings.Join(dsnQuery, ""),
		"TOKEN_SIGNING_KEY": testenv.SigningKey, "PUBLIC_URL": "http://127.0.0.1:8080",
		"RATE_LIMIT_PER_MINUTE": "0", "AUTH_RATE_LIMIT_PER_MINUTE": "0", "METRICS_ADDR": "off",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	q := &atomic.Int64{}
	srv, err := server.New(context.Background(), cfg, server.Options{
		Log:     slog.New(slog.NewJSONHandler(io.Discard, nil)),
		SPA:     fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}},
		Version: "bench",
		Store:   store.Options{Queries: q},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	created, err := srv.Tokens.Create(context.Background(), token.CreateRequest{Subject: "bench", CreatedBy: "bench@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	return &benchServer{srv: srv, queries: q, token: created.Value}
}

func serveLoop(b *testing.B, h http.Handler, req *http.Request, want int) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req) // warm: the first request verifies the token and caches it
	if rec.Code != want {
		b.Fatalf("warm-up: %d %s", rec.Code, rec.Body)
	}
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkAuthMiddlewareServiceToken is GET /api/system/config with a valid service token,
// warm: every middleware, the guard and the handler. queries/op must be 0.
func BenchmarkAuthMiddlewareServiceToken(b *testing.B) {
	s := newBenchServer(b)
	req := httptest.NewRequest(http.MethodGet, "/api/system/config", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	rec := httptest.NewRecorder()
	s.srv.Handler.ServeHTTP(rec, req)
	before := s.queries.Load()
	serveLoop(b, s.srv.Handler, req, http.StatusOK)
	b.ReportMetric(float64(s.queries.Load()-before)/float64(b.N), "queries/op")
}

// BenchmarkAuthMiddlewareParallel is the same from every core at once.
func BenchmarkAuthMiddlewareParallel(b *testing.B) {
	s := newBenchServer(b)
	rec := httptest.NewRecorder()
	warm := httptest.NewRequest(http.MethodGet, "/api/system/config", nil)
	warm.Header.Set("Authorization", "Bearer "+s.token)
	s.srv.Handler.ServeHTTP(rec, warm)
	before := s.queries.Load()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, "/api/system/config", nil)
		req.Header.Set("Authorization", "Bearer "+s.token)
		for pb.Next() {
			rec := httptest.NewRecorder()
			s.srv.Handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("%d %s", rec.Code, rec.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(s.queries.Load()-before)/float64(b.N), "queries/op")
}

// BenchmarkHealthzUnauthenticated is GET /healthz through the same router: no authentication.
func BenchmarkHealthzUnauthenticated(b *testing.B) {
	s := newBenchServer(b)
	serveLoop(b, s.srv.Handler, httptest.NewRequest(http.MethodGet, "/healthz", nil), http.StatusOK)
}

// BenchmarkListTokens10k is GET /api/tokens (the whole list) with 10,000 active tokens.
func BenchmarkListTokens10k(b *testing.B) {
	// The tokens are issued through the token service, as the API issues them, on a database
	// that does not wait for the disk at each commit (reads are the same), so that 10,000 take
	// seconds, not minutes.
	s := newBenchServer(b, "?_pragma=synchronous(OFF)")
	for i := range 10_000 {
		if _, err := s.srv.Tokens.Create(context.Background(), token.CreateRequest{Subject: fmt.Sprintf("bench-service-%06d", i), CreatedBy: "bench@example.com"}); err != nil {
			b.Fatal(err)
		}
	}
	_, sess, err := s.srv.Sessions.Start(context.Background(), auth.Identity{Email: "bench@example.com", IsAdmin: true})
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := s.srv.Sessions.IssueToken(sess)
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/tokens", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	serveLoop(b, s.srv.Handler, req, http.StatusOK)
}
