package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

// The tests of this file run against a Galera cluster (make test-cluster), skipped without one
// (testenv.ClusterDBs).

// TestClusterInstancesStartTogether starts one instance per node at the same instant on an
// empty database, ten times: every instance migrates without error, and each node's version
// table records every migration once.
func TestClusterInstancesStartTogether(t *testing.T) {
	failed := 0
	for trial := range 10 {
		t.Run(fmt.Sprint(trial), func(t *testing.T) {
			dbs := testenv.ClusterDBs(t)
			errs := make([]error, len(dbs))
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, db := range dbs {
				wg.Go(func() {
					st, err := store.Open(db.Driver, db.DSN)
					if err != nil {
						errs[i] = err
						return
					}
					defer st.Close()
					<-start
					errs[i] = st.Migrate(context.Background(), quiet)
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					failed++
					t.Errorf("instance on node %d: %v", i+1, err)
				}
			}
			for _, db := range dbs {
				wantMigratedOnce(t, db)
			}
		})
	}
	t.Logf("10 trials of an instance per node starting together: %d instances failed", failed)
}

// TestClusterConcurrentRevocations revokes 100 tokens at once, spread over the nodes, first
// with a single attempt per transaction (as before writeTx covered revocations) and then with
// writeTx's retries: it reports how many failed each way, and requires none with retries, and
// the feed to hold every revocation once, numbered without a gap.
func TestClusterConcurrentRevocations(t *testing.T) {
	for _, mode := range []struct {
		name     string
		attempts int
	}{{"one attempt", 1}, {"with retries", 0}} {
		t.Run(mode.name, func(t *testing.T) {
			dbs := testenv.ClusterDBs(t)
			stores := make([]*store.Store, len(dbs))
			var retried atomic.Int64
			for i, db := range dbs {
				// Reads wait until the node applied what the cluster committed before them:
				// the tokens are created on the first node and revoked on every node.
				db.DSN += "&wsrep_sync_wait=1"
				if i == 0 {
					stores[i] = testenv.Store(t, db)
				} else {
					stores[i] = testenv.OpenStore(t, db)
				}
				stores[i].SetTxRetry(mode.attempts, func(error) { retried.Add(1) })
			}
			ctx := t.Context()
			now := time.Now().UTC().Truncate(time.Millisecond)
			ok := audit.Event{At: now, Actor: "a", Action: "token.created", Target: "t"}
			const n = 100
			for i := range n {
				if err := stores[0].InsertToken(ctx, newToken(fmt.Sprintf("tok%03d", i), now), ok); err != nil {
					t.Fatal(err)
				}
			}
			var failures atomic.Int64
			var firstErr atomic.Value
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					st := stores[i%len(stores)]
					_, err := st.RevokeToken(ctx, fmt.Sprintf("tok%03d", i), now, "x", "", func(token.Token) audit.Event { return ok })
					if err != nil {
						failures.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
					}
				})
			}
			close(start)
			wg.Wait()
			t.Logf("%s: %d of %d concurrent revocations over %d nodes failed (first: %v); %d transactions run again",
				mode.name, failures.Load(), n, len(stores), firstErr.Load(), retried.Load())
			if mode.attempts == 1 {
				return
			}
			if failures.Load() != 0 {
				t.Errorf("%d revocations failed despite the retries", failures.Load())
			}
			for i, st := range stores {
				page, err := st.RevocationsFrom(ctx, 0, 1000)
				if err != nil {
					t.Fatal(err)
				}
				seen := map[string]bool{}
				for j, e := range page.Entries {
					if e.Seq != int64(j+1) || seen[e.TokenID] {
						t.Fatalf("node %d: feed entry %d is %+v: want seq %d, each token once", i+1, j, e, j+1)
					}
					seen[e.TokenID] = true
				}
				if len(page.Entries) != n || page.Counter != n {
					t.Errorf("node %d: feed holds %d entries, counter %d; want %d", i+1, len(page.Entries), page.Counter, n)
				}
				if _, err := st.GetToken(ctx, "tok000"); apperr.Is(err, apperr.NotFound) {
					t.Errorf("node %d lost a token", i+1)
				}
			}
		})
	}
}
