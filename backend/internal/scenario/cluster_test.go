package scenario_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/go-sql-driver/mysql"
)

// The cluster scenarios run against a three-node MariaDB Galera cluster (make test-cluster
// starts one on loopback ports and sets CLUSTER_NODES to its nodes' addresses): three instances,
// each on a different node, on the real clock with their background loops, as deployed.

// clusterNodes are the addresses of the cluster's nodes; the test is skipped without them.
func clusterNodes(t *testing.T) []string {
	t.Helper()
	v := os.Getenv("CLUSTER_NODES")
	if v == "" {
		t.Skip("CLUSTER_NODES not set: make test-cluster runs these on a Galera cluster")
	}
	return strings.Split(v, ",")
}

// clusterDBs makes a fresh database on the cluster and returns it as seen through each node;
// it is dropped when the test ends.
func clusterDBs(t *testing.T) []testenv.DB {
	t.Helper()
	nodes := clusterNodes(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "cm_cluster_" + hex.EncodeToString(b)
	admin := nodeConn(t, nodes[0], "")
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec("DROP DATABASE IF EXISTS " + name) })
	dbs := make([]testenv.DB, len(nodes))
	for i, n := range nodes {
		dbs[i] = testenv.DB{Driver: "mysql", DSN: "root@tcp(" + n + ")/" + name + "?parseTime=true"}
	}
	return dbs
}

// nodeConn is a plain connection to one node (database name optional), closed at the end.
func nodeConn(t *testing.T, addr, name string) *sql.DB {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "tcp", addr, name
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// startReplicas starts one instance per node, sharing keys as replicas of one deployment do.
func startReplicas(t *testing.T, dbs []testenv.DB, env map[string]string) []*testenv.Env {
	t.Helper()
	out := make([]*testenv.Env, len(dbs))
	for i, db := range dbs {
		out[i] = testenv.Start(t, db, testenv.Settings{RealTime: true, Env: env})
	}
	return out
}

// TestClusterNewTokensAreRecognisedEverywhere: a token created through one instance is used at
// once, 200 times, on the others, whose nodes may not have applied it yet: never a 401 (their
// reads are causal). Then revoked through one instance: refused there as soon as the DELETE
// returned, and on every other within a second.
func TestClusterNewTokensAreRecognisedEverywhere(t *testing.T) {
	reps := startReplicas(t, clusterDBs(t), nil)
	admin := reps[0].SignIn("admin@example.com", true)
	for i := range 200 {
		at, use := reps[i%3], reps[(i+1)%3]
		tok := at.CreateToken(admin, map[string]any{"subject": "ci"})
		if r := use.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)); r.Status != http.StatusOK {
			t.Fatalf("token %d made on instance %d, used at once on %d: %d %s", i, i%3, (i+1)%3, r.Status, r.Body)
		}
	}
	tok := reps[0].CreateToken(admin, map[string]any{"subject": "to-revoke"})
	for _, r := range reps {
		if st := r.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)).Status; st != http.StatusOK {
			t.Fatalf("before the revocation: %d", st)
		}
	}
	reps[1].Revoke(admin, tok.TokenID)
	start := time.Now()
	if st := reps[1].Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)).Status; st != http.StatusUnauthorized {
		t.Fatalf("the revoking instance, right after its DELETE: %d, want 401", st)
	}
	for _, i := range []int{0, 2} {
		for reps[i].Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)).Status != http.StatusUnauthorized {
			if time.Since(start) > time.Second {
				t.Fatalf("instance %d still accepts the token a second after its revocation", i)
			}
			time.Sleep(10 * time.Millisecond) // polling a real cluster: the feed is read every 250 ms
		}
		t.Logf("instance %d refuses the revoked token %v after the DELETE returned", i, time.Since(start).Round(time.Millisecond))
	}
}

// TestClusterConcurrentWrites: 50 revocations and 50 creations at once, spread over the three
// instances (every revocation takes the feed's counter row: on Galera, certification conflicts
// between nodes): every one succeeds, and every instance refuses every revoked token.
func TestClusterConcurrentWrites(t *testing.T) {
	reps := startReplicas(t, clusterDBs(t), nil)
	admin := reps[0].SignIn("admin@example.com", true)
	toRevoke := make([]testenv.CreatedToken, 50)
	for i := range toRevoke {
		toRevoke[i] = reps[0].CreateToken(admin, map[string]any{"subject": fmt.Sprintf("old-%d", i)})
	}
	var wg sync.WaitGroup
	fails := make(chan string, 100)
	for i := range 50 {
		e := reps[i%3]
		wg.Go(func() {
			r := e.Do(http.MethodDelete, "/api/tokens/"+toRevoke[i].TokenID, nil, e.As(admin))
			if r.Status != http.StatusNoContent {
				fails <- fmt.Sprintf("revoke %d on instance %d: %d %s", i, i%3, r.Status, r.Body)
			}
		})
		wg.Go(func() {
			r := e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": fmt.Sprintf("new-%d", i)}, e.As(admin))
			if r.Status != http.StatusCreated {
				fails <- fmt.Sprintf("create %d on instance %d: %d %s", i, i%3, r.Status, r.Body)
			}
		})
	}
	wg.Wait()
	close(fails)
	for f := range fails {
		t.Error(f)
	}
	deadline := time.Now().Add(2 * time.Second)
	for i, e := range reps {
		for _, tok := range toRevoke {
			for e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)).Status != http.StatusUnauthorized {
				if time.Now().After(deadline) {
					t.Fatalf("instance %d accepts token %s two seconds after all revocations were answered", i, tok.TokenID)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	var active []testenv.TokenEntry
	reps[2].GetJSON("/api/tokens?limit=1000", &active, reps[2].As(admin))
	if len(active) != 50 {
		t.Errorf("%d active tokens, want the 50 created", len(active))
	}
}

// TestClusterLaggingNodeFailsClosed: one node stops applying what the others commit (FLUSH
// TABLES WITH READ LOCK, as a backup does) for longer than the staleness limit; a token revoked
// meanwhile through another instance is never accepted by the instance on the lagging node: its
// reads wait, its feed goes stale, and it answers 503 until the node catches up, then 401.
func TestClusterLaggingNodeFailsClosed(t *testing.T) {
	dbs := clusterDBs(t)
	reps := startReplicas(t, dbs, map[string]string{"REVOCATION_MAX_STALENESS": "2s"})
	admin := reps[0].SignIn("admin@example.com", true)
	tok := reps[0].CreateToken(admin, map[string]any{"subject": "ci"})
	lagging := reps[2]
	if st := lagging.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)).Status; st != http.StatusOK {
		t.Fatalf("before: %d", st)
	}
	lock := nodeConn(t, clusterNodes(t)[2], "")
	lock.SetMaxOpenConns(1)
	ctx := context.Background()
	conn, err := lock.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		t.Fatal(err)
	}
	unlocked := false
	unlock := func() {
		if !unlocked {
			unlocked = true
			if _, err := conn.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
				t.Error(err)
			}
		}
	}
	defer unlock()
	reps[0].Revoke(admin, tok.TokenID)
	statuses := map[int]int{}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		st := lagging.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)).Status
		statuses[st]++
		if st == http.StatusOK {
			t.Fatalf("the instance on the lagging node accepted a revoked token (answers so far: %v)", statuses)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if statuses[http.StatusServiceUnavailable] == 0 {
		t.Errorf("answers while the node lagged: %v, want 503s once the feed was stale", statuses)
	}
	r := lagging.Do(http.MethodGet, "/readyz", nil)
	if r.Status != http.StatusServiceUnavailable {
		t.Errorf("/readyz while the node lags: %d %s", r.Status, r.Body)
	}
	unlock()
	for end := time.Now().Add(10 * time.Second); ; {
		st := lagging.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)).Status
		if st == http.StatusUnauthorized {
			break
		}
		if st == http.StatusOK || time.Now().After(end) {
			t.Fatalf("after the node caught up: %d, want 401", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("answers to the revoked token while its node lagged: %v", statuses)
}
