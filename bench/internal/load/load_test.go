package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func fakeServer(t *testing.T) *httptest.Server {
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
	t.Cleanup(srv.Close)
	return srv
}

// TestClosedLoop: a closed loop counts every answer by status, stops after its requests, and
// reports answer sizes when asked to keep bodies.
func TestClosedLoop(t *testing.T) {
	srv := fakeServer(t)
	ok := http.Header{"Authorization": {"Bearer ok"}}
	ctx := context.Background()

	res, err := Run(ctx, Config{Target: vegeta.Target{Method: "GET", URL: srv.URL + "/x", Header: ok}, Conns: 4, Requests: 200, Warmup: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 200 || res.Errors != 0 || res.Statuses["200"] != 200 || res.NotOK() != 0 {
		t.Fatalf("unexpected result: %+v", res)
	}
	if res.P50Ms <= 0 || res.P99Ms < res.P50Ms || res.MaxMs < res.P99Ms || res.RPS <= 0 || res.ClientCPUUs <= 0 {
		t.Fatalf("implausible figures: %+v", res)
	}

	res, err = Run(ctx, Config{Target: vegeta.Target{Method: "GET", URL: srv.URL + "/big", Header: ok}, Conns: 2, Requests: 50, KeepBodies: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 50 || res.BodyBytes != 100<<10 || res.Errors != 0 {
		t.Fatalf("chunked body: %+v", res)
	}

	res, err = Run(ctx, Config{Target: vegeta.Target{Method: "GET", URL: srv.URL + "/x"}, Conns: 1, Requests: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Statuses["401"] != 10 || res.NotOK() != 10 {
		t.Fatalf("401s not counted by status: %+v", res)
	}
}

// TestServerCPU: the server's CPU time is read before and after the measured requests only,
// and divided by them.
func TestServerCPU(t *testing.T) {
	srv := fakeServer(t)
	var reads atomic.Int64
	cpu := func(context.Context) (float64, error) {
		return float64(reads.Add(1)), nil // one more second at each reading
	}
	res, err := Run(context.Background(), Config{Target: vegeta.Target{Method: "GET", URL: srv.URL}, Conns: 2, Requests: 100, Warmup: 20 * time.Millisecond, ServerCPU: cpu})
	if err != nil {
		t.Fatal(err)
	}
	if reads.Load() != 2 || res.ServerCPUUs != 1e6/100 {
		t.Fatalf("%d readings, %.1f µs/request; want 2 readings, 10000 µs/request", reads.Load(), res.ServerCPUUs)
	}
}

// TestOpenLoopCountsWaitingTime: at a fixed rate, a slow answer delays the requests due behind
// it on the same connection, and their latency counts that wait (a closed loop would hide it:
// coordinated omission).
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
	res, err := Run(context.Background(), Config{Target: vegeta.Target{Method: "GET", URL: srv.URL}, Conns: 1, Rate: 500, Requests: 30})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 30 || res.Errors != 0 {
		t.Fatalf("unexpected result: %+v", res)
	}
	// Only the first request is slow to serve; the next ones waited for it, and at least a
	// tenth of the requests took 10 ms or more.
	if res.P90Ms < 10 || res.MaxMs < float64(stall/time.Millisecond) {
		t.Fatalf("waiting time not counted: p90 %.3f ms, max %.3f ms", res.P90Ms, res.MaxMs)
	}
}
