package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RevocationConfig describes one revocation trial.
type RevocationConfig struct {
	A, B     string // base URLs of the two instances
	Path     string // the endpoint loaded with the service token
	Token    string // the service token under load
	TokenID  string // its id, revoked through A
	Admin    string // an administrator's bearer session token
	Conns    int    // connections per instance
	Before   time.Duration
	After    time.Duration
	Interval time.Duration // pause between one connection's requests (0: none)
}

// RevocationResult is what a trial measured. Times are milliseconds from the moment the
// DELETE returned.
type RevocationResult struct {
	Tags            map[string]string `json:"tags,omitempty"`
	DeleteStatus    int               `json:"deleteStatus"`
	DeleteMs        float64           `json:"deleteMs"` // how long the DELETE took
	AOKBefore       int64             `json:"aOkBefore"`
	BOKBefore       int64             `json:"bOkBefore"`
	AOKInFlight     int64             `json:"aOkInFlight"`     // began before, ended after the DELETE returned
	AOKAfter        int64             `json:"aOkAfter"`        // began after the DELETE returned: goal 0
	ARefusedAfter   int64             `json:"aRefusedAfter"`   // 401s on A that began after
	BFirstRefusalMs float64           `json:"bFirstRefusalMs"` // B's first 401 seen (end of that request); -1: never
	BLastOKStartMs  float64           `json:"bLastOkStartMs"`  // the last B request that still succeeded began here
	BOKAfterRefusal int64             `json:"bOkAfterRefusal"` // B successes that began after its first 401 ended
	Other           map[string]int64  `json:"otherStatuses,omitempty"`
	Errors          int64             `json:"errors"`
}

func revocationMain(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("loadgen revocation", flag.ContinueOnError)
	var cfg RevocationConfig
	tags := tagList{}
	fs.StringVar(&cfg.A, "a", "", "base URL of instance A (the one that revokes)")
	fs.StringVar(&cfg.B, "b", "", "base URL of instance B")
	fs.StringVar(&cfg.Path, "path", "/api/system/config", "endpoint loaded with the token")
	fs.StringVar(&cfg.Token, "token", "", "the service token")
	fs.StringVar(&cfg.TokenID, "token-id", "", "its id")
	fs.StringVar(&cfg.Admin, "admin", "", "an administrator's bearer session token")
	fs.IntVar(&cfg.Conns, "c", 4, "connections per instance")
	fs.DurationVar(&cfg.Before, "before", 1500*time.Millisecond, "load before revoking")
	fs.DurationVar(&cfg.After, "after", 2*time.Second, "load after the DELETE returned")
	fs.DurationVar(&cfg.Interval, "interval", 0, "pause between one connection's requests")
	fs.Var(tags, "tag", "key=value copied into the JSON result (repeatable)")
	asJSON := fs.Bool("json", false, "print the result as one JSON line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.A == "" || cfg.B == "" || cfg.Token == "" || cfg.TokenID == "" || cfg.Admin == "" {
		return errors.New("revocation: -a, -b, -token, -token-id and -admin are required")
	}
	res, err := RunRevocation(context.Background(), cfg)
	if err != nil {
		return err
	}
	if len(tags) > 0 {
		res.Tags = tags
	}
	if *asJSON {
		fmt.Fprintf(os.Stderr, "  %v: A ok after the DELETE returned %d (in flight %d), B first 401 at +%.1f ms, DELETE took %.1f ms\n",
			map[string]string(tags), res.AOKAfter, res.AOKInFlight, res.BFirstRefusalMs, res.DeleteMs)
		return json.NewEncoder(out).Encode(res)
	}
	fmt.Fprintf(out, "DELETE %d in %.2f ms\nA: %d ok before, %d ok in flight, %d ok after the DELETE returned (goal 0), %d refused after\n",
		res.DeleteStatus, res.DeleteMs, res.AOKBefore, res.AOKInFlight, res.AOKAfter, res.ARefusedAfter)
	fmt.Fprintf(out, "B: first 401 at +%.1f ms (goal ≤ 1000), last success began at +%.1f ms, %d successes after the first 401\n",
		res.BFirstRefusalMs, res.BLastOKStartMs, res.BOKAfterRefusal)
	if len(res.Other) > 0 || res.Errors > 0 {
		fmt.Fprintf(out, "other statuses %v, errors %d\n", res.Other, res.Errors)
	}
	return nil
}

type record struct {
	start, end time.Time
	status     int
}

// RunRevocation loads both instances, revokes the token through A and measures.
func RunRevocation(ctx context.Context, cfg RevocationConfig) (RevocationResult, error) {
	if cfg.Conns <= 0 {
		cfg.Conns = 1
	}
	auth := []string{"Authorization: Bearer " + cfg.Token}
	ta, err := newTarget(strings.TrimRight(cfg.A, "/")+cfg.Path, http.MethodGet, auth)
	if err != nil {
		return RevocationResult{}, err
	}
	tb, err := newTarget(strings.TrimRight(cfg.B, "/")+cfg.Path, http.MethodGet, auth)
	if err != nil {
		return RevocationResult{}, err
	}
	del, err := newTarget(strings.TrimRight(cfg.A, "/")+"/api/tokens/"+cfg.TokenID, http.MethodDelete,
		[]string{"Authorization: Bearer " + cfg.Admin})
	if err != nil {
		return RevocationResult{}, err
	}
	// Dial the DELETE's connection first so that revoking costs one exchange, not a handshake.
	delClient := &client{t: del}
	if err := delClient.dial(); err != nil {
		return RevocationResult{}, err
	}
	defer delClient.close()

	var stop atomic.Bool
	var errCount atomic.Int64
	var mu sync.Mutex
	var recsA, recsB []record
	var wg sync.WaitGroup
	load := func(t *target, into *[]record) {
		c := &client{t: t}
		defer c.close()
		local := make([]record, 0, 8192)
		for !stop.Load() && ctx.Err() == nil {
			t0 := time.Now()
			status, _, err := c.do()
			t1 := time.Now()
			if err != nil {
				errCount.Add(1)
				time.Sleep(time.Millisecond)
				continue
			}
			local = append(local, record{start: t0, end: t1, status: status})
			if cfg.Interval > 0 {
				time.Sleep(cfg.Interval)
			}
		}
		mu.Lock()
		*into = append(*into, local...)
		mu.Unlock()
	}
	for range cfg.Conns {
		wg.Go(func() { load(ta, &recsA) })
		wg.Go(func() { load(tb, &recsB) })
	}
	time.Sleep(cfg.Before)
	delSent := time.Now()
	status, _, derr := delClient.do()
	returned := time.Now()
	time.Sleep(cfg.After)
	stop.Store(true)
	wg.Wait()
	if derr != nil {
		return RevocationResult{}, fmt.Errorf("DELETE through A: %w", derr)
	}
	res := RevocationResult{DeleteStatus: status, DeleteMs: ms(returned.Sub(delSent)), BFirstRefusalMs: -1, BLastOKStartMs: -1, Errors: errCount.Load(), Other: map[string]int64{}}
	if status != http.StatusNoContent {
		return res, fmt.Errorf("DELETE through A answered %d, want 204", status)
	}
	ok := func(s int) bool { return s >= 200 && s < 300 }
	for _, r := range recsA {
		switch {
		case ok(r.status) && !r.start.After(returned) && !r.end.After(returned):
			res.AOKBefore++
		case ok(r.status) && !r.start.After(returned):
			res.AOKInFlight++
		case ok(r.status):
			res.AOKAfter++
		case r.status == http.StatusUnauthorized && r.start.After(returned):
			res.ARefusedAfter++
		case r.status != http.StatusUnauthorized:
			res.Other[fmt.Sprintf("A %d", r.status)]++
		}
	}
	var firstRefusal time.Time
	for _, r := range recsB {
		switch {
		case r.status == http.StatusUnauthorized:
			if firstRefusal.IsZero() || r.end.Before(firstRefusal) {
				firstRefusal = r.end
			}
		case ok(r.status):
			if !r.end.After(delSent) {
				res.BOKBefore++
			}
			if d := ms(r.start.Sub(returned)); d > res.BLastOKStartMs {
				res.BLastOKStartMs = d
			}
		default:
			res.Other[fmt.Sprintf("B %d", r.status)]++
		}
	}
	if !firstRefusal.IsZero() {
		res.BFirstRefusalMs = ms(firstRefusal.Sub(returned))
		for _, r := range recsB {
			if ok(r.status) && r.start.After(firstRefusal) {
				res.BOKAfterRefusal++
			}
		}
	}
	if len(res.Other) == 0 {
		res.Other = nil
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
