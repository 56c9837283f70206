package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoadSmoke runs the generator for half a second against a tiny server, so that it keeps
// working between benchmark runs.
func TestLoadSmoke(t *testing.T) {
	big := strings.Repeat("x", 100<<10) // sent chunked
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "Bearer ok":
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/big":
			w.Write([]byte(big))
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"status":"ok"}`))
		}
	}))
	defer srv.Close()

	res, err := Run(context.Background(), LoadConfig{URL: srv.URL + "/x", Headers: []string{"Authorization: Bearer ok"}, Conns: 4, Duration: 500 * time.Millisecond, Warmup: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != 0 || res.Statuses["200"] != res.Requests || res.OK() != res.Requests {
		t.Fatalf("unexpected result: %+v", res)
	}
	if res.P50ms <= 0 || res.P99ms < res.P50ms || res.MaxMs < res.P99ms || res.BodyBytes != 15 {
		t.Fatalf("implausible latencies or sizes: %+v", res)
	}

	res, err = Run(context.Background(), LoadConfig{URL: srv.URL + "/big", Headers: []string{"Authorization: Bearer ok"}, Conns: 2, Requests: 50})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 50 || res.BodyBytes != float64(len(big)) || res.Errors != 0 {
		t.Fatalf("chunked body: %+v", res)
	}

	res, err = Run(context.Background(), LoadConfig{URL: srv.URL + "/x", Conns: 1, Requests: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Statuses["401"] != 10 {
		t.Fatalf("401s not counted by status: %+v", res)
	}

	var out bytes.Buffer
	if err := loadMain([]string{"-c", "2", "-n", "20", "-warmup", "0", "-json", "-tag", "target=smoke", srv.URL}, &out); err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Tags["target"] != "smoke" || r.Requests != 20 {
		t.Fatalf("JSON output %q: %v", out.String(), err)
	}
}

// TestRevocationSmoke runs the revocation mode against two fake instances: A refuses the token
// as soon as it is revoked, B a little later, as a replica reading the feed would.
func TestRevocationSmoke(t *testing.T) {
	var revokedAt atomic.Int64
	instance := func(lag time.Duration) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodDelete {
				if r.Header.Get("Authorization") != "Bearer admin" || r.URL.Path != "/api/tokens/tid" {
					w.WriteHeader(http.StatusForbidden)
					return
				}
				revokedAt.Store(time.Now().UnixNano())
				w.WriteHeader(http.StatusNoContent)
				return
			}
			if at := revokedAt.Load(); at != 0 && time.Since(time.Unix(0, at)) >= lag {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Write([]byte(`{}`))
		}))
	}
	a, b := instance(0), instance(100*time.Millisecond)
	defer a.Close()
	defer b.Close()
	res, err := RunRevocation(context.Background(), RevocationConfig{
		A: a.URL, B: b.URL, Path: "/api/system/config", Token: "tok", TokenID: "tid", Admin: "admin",
		Conns: 2, Before: 200 * time.Millisecond, After: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.AOKBefore == 0 || res.BOKBefore == 0 || res.AOKAfter != 0 || res.ARefusedAfter == 0 || res.BOKAfterRefusal != 0 {
		t.Fatalf("unexpected counts: %+v", res)
	}
	if res.BFirstRefusalMs < 90 || res.BFirstRefusalMs > 290 {
		t.Fatalf("B refused after %.1f ms, want about 100", res.BFirstRefusalMs)
	}
}

// TestOpenLoopCountsWaitingTime: with -rate, a slow answer delays the requests due behind it on
// the same connection, and their latency counts from when they were due, not from when they
// could be sent (a closed loop would hide that wait: coordinated omission).
func TestOpenLoopCountsWaitingTime(t *testing.T) {
	const stall = 40 * time.Millisecond
	var first atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if first.CompareAndSwap(false, true) {
			time.Sleep(stall) // the server's slow answer, not the test waiting
		}
	}))
	defer srv.Close()

	// One connection, a request due every 2 ms: about 20 fall due during the stall.
	res, err := Run(context.Background(), LoadConfig{URL: srv.URL, Conns: 1, Rate: 500, Requests: 30})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 30 || res.Errors != 0 {
		t.Fatalf("unexpected result: %+v", res)
	}
	// Only the first request is slow to serve; the next ones waited for it. Counted from when
	// they were due, at least a tenth of the requests took 10 ms or more.
	if res.P90ms < 10 || res.MaxMs < float64(stall/time.Millisecond) {
		t.Fatalf("waiting time not counted: p90 %.3f ms, max %.3f ms", res.P90ms, res.MaxMs)
	}
}
