package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/go-sql-driver/mysql"
)

// The tests of this file run against a Galera cluster, and only when TEST_GALERA_DSNS names
// its nodes, comma-separated, as TEST_MYSQL_DSN names a server (no database: each trial
// creates its own), e.g. root@tcp(127.0.0.1:33061)/?parseTime=true,…:33062…,…:33063….

// galeraNodes returns the nodes' DSNs, or skips the test.
func galeraNodes(t *testing.T) []*mysql.Config {
	t.Helper()
	env := os.Getenv("TEST_GALERA_DSNS")
	if env == "" {
		t.Skip("TEST_GALERA_DSNS is not set")
	}
	var nodes []*mysql.Config
	for _, dsn := range strings.Split(env, ",") {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatalf("TEST_GALERA_DSNS: %v", err)
		}
		nodes = append(nodes, cfg)
	}
	return nodes
}

// galeraDatabase creates an empty database through the first node (DDL reaches every node
// before it returns) and returns its DSN on each node; it is dropped when the test ends.
func galeraDatabase(t *testing.T, nodes []*mysql.Config, name string) []testenv.DB {
	t.Helper()
	admin, err := sql.Open("mysql", nodes[0].FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec("DROP DATABASE IF EXISTS " + name) })
	dbs := make([]testenv.DB, len(nodes))
	for i, n := range nodes {
		// The other nodes apply the CREATE after the first returned: a causal read (it waits
		// until the node applied everything committed before it) finds it there.
		check := n.Clone()
		if check.Params == nil {
			check.Params = map[string]string{}
		}
		check.Params["wsrep_sync_wait"] = "1"
		conn, err := sql.Open("mysql", check.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = conn.QueryRow("SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&got)
		conn.Close()
		if err != nil {
			t.Fatalf("node %d does not show database %s: %v", i+1, name, err)
		}
		c := n.Clone()
		c.DBName = name
		dbs[i] = testenv.DB{Driver: store.MySQL, DSN: c.FormatDSN()}
	}
	return dbs
}

// TestGaleraInstancesStartTogether starts one instance per node at the same instant on an
// empty database, ten times: every instance migrates without error, and each node's version
// table records every migration once.
func TestGaleraInstancesStartTogether(t *testing.T) {
	nodes := galeraNodes(t)
	failed := 0
	for trial := range 10 {
		t.Run(fmt.Sprint(trial), func(t *testing.T) {
			dbs := galeraDatabase(t, nodes, fmt.Sprintf("cm_galera_start_%d_%d", os.Getpid(), trial))
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
	t.Logf("10 trials of %d instances starting together: %d instances failed", len(nodes), failed)
}

// TestGaleraConcurrentRevocations revokes 100 tokens at once, spread over the nodes, first
// with a single attempt per transaction (as before writeTx covered revocations) and then with
// writeTx's retries: it reports how many failed each way, and requires none with retries, and
// the feed to hold every revocation once, numbered without a gap.
func TestGaleraConcurrentRevocations(t *testing.T) {
	nodes := galeraNodes(t)
	for _, mode := range []struct {
		name     string
		attempts int
	}{{"one attempt", 1}, {"with retries", 0}} {
		t.Run(mode.name, func(t *testing.T) {
			dbs := galeraDatabase(t, nodes, fmt.Sprintf("cm_galera_revoke_%d_%d", os.Getpid(), mode.attempts))
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
