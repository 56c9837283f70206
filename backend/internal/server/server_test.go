package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/config"
	"github.com/codemetrics/codemetrics/backend/internal/server"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

// TestGracefulShutdownUnderLoad stops a real server while clients hammer it: every answer that
// arrives is complete and 200, new connections are refused once it stops, it exits within its
// bound, and the last-use times of the load are flushed on the way out.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "cm.db")
	env := map[string]string{"HTTP_ADDR": "127.0.0.1:0", "METRICS_ADDR": "off", "DATABASE_DSN": dsn, "TOKEN_SIGNING_KEY": testenv.SigningKey, "RATE_LIMIT_PER_MINUTE": "0"}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(context.Background(), cfg, server.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	created, err := srv.Tokens.Create(context.Background(), token.CreateRequest{Subject: "load", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, func(a string) { addrc <- a }) }()
	url := "http://" + <-addrc + "/api/system/config"

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
	st, err := store.Open(cfg.DatabaseDriver, cfg.DatabaseDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, err := st.GetToken(context.Background(), created.Token.ID)
	if err != nil || tok.LastUsedAt == nil {
		t.Fatalf("last use not flushed at shutdown: %+v %v", tok, err)
	}
}
