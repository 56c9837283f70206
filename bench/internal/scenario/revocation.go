package scenario

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/codemetrics/codemetrics/bench/internal/load"
	"github.com/codemetrics/codemetrics/bench/internal/results"
)

// Revocation trials: connections per instance, load before the DELETE and after it returned.
const (
	revocationTrials = 3
	revocationConns  = 4
	revocationBefore = 1500 * time.Millisecond
	revocationAfter  = 2 * time.Second
)

// revocation is section 3: A and B (one MariaDB database) are loaded with one service token;
// the token is revoked through A's API; every request's start, end and status say whether A
// let the token through after its DELETE returned, and how long B took to refuse it.
func revocation(ctx context.Context, db *DB) error {
	admin, err := db.Admin(ctx)
	if err != nil {
		return err
	}
	r := &results.Revocation{Conns: revocationConns, Before: results.Duration(revocationBefore), After: results.Duration(revocationAfter)}
	for trial := 1; trial <= revocationTrials; trial++ {
		tok, err := db.CreateToken(ctx, fmt.Sprintf("bench-revoke-%d", trial))
		if err != nil {
			return err
		}
		t, err := revocationTrial(ctx, db.A.URL, db.B.URL, tok, admin.Bearer, revocationBefore, revocationAfter)
		if err != nil {
			return err
		}
		db.Logf("  trial %d: A ok after the DELETE returned %d (in flight %d), B first 401 at +%.1f ms, DELETE took %.1f ms",
			trial, t.AOKAfter, t.AOKInFlight, t.BFirstRefusalMs, t.DeleteMs)
		r.Trials = append(r.Trials, t)
	}
	db.R.Revocation = r
	return nil
}

// exchange is one request of the trial.
type exchange struct {
	start, end time.Time
	status     int
}

// revocationTrial loads a and b with tok for before, revokes it through a, and loads on for
// after the DELETE returned.
func revocationTrial(ctx context.Context, a, b string, tok Token, adminBearer string, before, after time.Duration) (results.RevocationTrial, error) {
	auth := http.Header{"Authorization": {"Bearer " + tok.AccessToken}}
	var wg sync.WaitGroup
	var errs [2]int64
	var recs [2][]exchange
	atks := [2]*vegeta.Attacker{}
	for i, base := range []string{a, b} {
		atks[i] = load.Attacker(load.Client(revocationConns), revocationConns, false, false)
		tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: base + "/api/system/config", Header: auth})
		ch := atks[i].Attack(tr, load.ClosedLoop(0), 0, "")
		wg.Go(func() {
			for r := range ch {
				if r.Code == 0 {
					errs[i]++
					continue
				}
				recs[i] = append(recs[i], exchange{start: r.Timestamp, end: r.End(), status: int(r.Code)})
			}
		})
	}
	// The DELETE goes over a connection opened beforehand, so that it costs one exchange.
	del := load.Client(1)
	warm, err := del.Get(a + "/healthz")
	if err != nil {
		return results.RevocationTrial{}, err
	}
	_, _ = io.Copy(io.Discard, warm.Body)
	warm.Body.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, a+"/api/tokens/"+tok.TokenID, nil)
	if err != nil {
		return results.RevocationTrial{}, err
	}
	req.Header.Set("Authorization", "Bearer "+adminBearer)

	time.Sleep(before)
	sent := time.Now()
	resp, derr := del.Do(req)
	returned := time.Now()
	time.Sleep(after)
	atks[0].Stop()
	atks[1].Stop()
	wg.Wait()
	if derr != nil {
		return results.RevocationTrial{}, fmt.Errorf("DELETE through A: %w", derr)
	}
	resp.Body.Close()
	t := classify(recs[0], recs[1], sent, returned)
	t.DeleteStatus, t.Errors = resp.StatusCode, errs[0]+errs[1]
	if resp.StatusCode != http.StatusNoContent {
		return t, fmt.Errorf("DELETE through A answered %d, want 204", resp.StatusCode)
	}
	return t, nil
}

// classify counts a trial's exchanges on A and B against the moments the DELETE was sent and
// its answer read.
func classify(recsA, recsB []exchange, sent, returned time.Time) results.RevocationTrial {
	t := results.RevocationTrial{DeleteMs: ms(returned.Sub(sent)), BFirstRefusalMs: -1, BLastOKStartMs: -1, Other: map[string]int64{}}
	ok := func(s int) bool { return s >= 200 && s < 300 }
	for _, r := range recsA {
		switch {
		case ok(r.status) && !r.start.After(returned) && !r.end.After(returned):
			t.AOKBefore++
		case ok(r.status) && !r.start.After(returned):
			t.AOKInFlight++
		case ok(r.status):
			t.AOKAfter++
		case r.status == http.StatusUnauthorized && r.start.After(returned):
			t.ARefusedAfter++
		case r.status != http.StatusUnauthorized:
			t.Other[fmt.Sprintf("A %d", r.status)]++
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
			if !r.end.After(sent) {
				t.BOKBefore++
			}
			t.BLastOKStartMs = max(t.BLastOKStartMs, ms(r.start.Sub(returned)))
		default:
			t.Other[fmt.Sprintf("B %d", r.status)]++
		}
	}
	if !firstRefusal.IsZero() {
		t.BFirstRefusalMs = ms(firstRefusal.Sub(returned))
		for _, r := range recsB {
			if ok(r.status) && r.start.After(firstRefusal) {
				t.BOKAfterRefusal++
			}
		}
	}
	if len(t.Other) == 0 {
		t.Other = nil
	}
	return t
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
