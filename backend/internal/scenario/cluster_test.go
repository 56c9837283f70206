package scenario_test

import (
	"context"
	"database/sql"
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

// clusterNodes are the addresses of the cluster's nodes (ClusterDBs skips without them).
func clusterNodes() []string { return strings.Split(os.Getenv("CLUSTER_NODES"), ",") }

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
	reps := startReplicas(t, testenv.ClusterDBs(t), nil)
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
	if st := reps[1].Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)).Status; st != http.StatusUnauthorized {
		t.Fatalf("the revoking instance, right after its DELETE: %d, want 401", st)
	}
	took := refusedWithin(t, []*testenv.Env{reps[0], reps[2]}, tok.AccessToken, http.StatusUnauthorized, time.Second)
	t.Logf("the other instances refuse the revoked token %v after the DELETE returned", took.Round(time.Millisecond))
}

// refusedWithin waits until every instance answers the token with want, failing after limit;
// it returns how long that took.
func refusedWithin(t *testing.T, reps []*testenv.Env, tok string, want int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for i, e := range reps {
		for e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok)).Status != want {
			if time.Since(start) > limit {
				t.Fatalf("instance %d does not answer %d within %v", i, want, limit)
			}
			time.Sleep(10 * time.Millisecond) // polling a real cluster: the feeds are read every 250 ms
		}
	}
	return time.Since(start)
}

// TestClusterOtherFeedsReachEveryInstance: the round's other feeds hold on the cluster too: a
// service user disabled through one instance is refused by every instance within a second (the
// service-user feed), and a rotated token stops on every instance at the end of its grace period.
func TestClusterOtherFeedsReachEveryInstance(t *testing.T) {
	reps := startReplicas(t, testenv.ClusterDBs(t), nil)
	admin := reps[0].SignIn("admin@example.com", true)
	tok := reps[0].CreateToken(admin, map[string]any{"subject": "nightly"})
	refusedWithin(t, reps, tok.AccessToken, http.StatusOK, time.Second)
	var users []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	reps[1].GetJSON("/api/service-users?name=nightly", &users, reps[1].As(admin))
	if len(users) != 1 {
		t.Fatalf("service users %+v", users)
	}
	r := reps[1].Do(http.MethodPatch, fmt.Sprintf("/api/service-users/%d", users[0].ID), map[string]any{"disabled": true}, reps[1].As(admin))
	if r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	t.Logf("a disabled service user is refused on every instance %v after the change", refusedWithin(t, reps, tok.AccessToken, http.StatusForbidden, time.Second).Round(time.Millisecond))

	old := reps[0].CreateToken(admin, map[string]any{"subject": "deploys"})
	const grace = 2 * time.Second
	rot := reps[2].Rotate(admin, old.TokenID, map[string]any{"gracePeriod": grace.String()})
	ends := time.Now().Add(grace)
	refusedWithin(t, reps, rot.AccessToken, http.StatusOK, time.Second)
	if time.Now().Before(ends) {
		refusedWithin(t, reps, old.AccessToken, http.StatusOK, time.Second) // still in its grace period
	}
	time.Sleep(time.Until(ends))
	t.Logf("a rotated token is refused on every instance %v after its grace period ended", refusedWithin(t, reps, old.AccessToken, http.StatusUnauthorized, time.Second).Round(time.Millisecond))
}

// TestClusterConcurrentWrites: 50 revocations and 50 creations at once, spread over the three
// instances (every revocation takes the feed's counter row: on Galera, certification conflicts
// between nodes): every one succeeds, and every instance refuses every revoked token.
func TestClusterConcurrentWrites(t *testing.T) {
	reps := startReplicas(t, testenv.ClusterDBs(t), nil)
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
	start := time.Now()
	for _, tok := range toRevoke {
		refusedWithin(t, reps, tok.AccessToken, http.StatusUnauthorized, 2*time.Second-time.Since(start))
	}
	var active []testenv.TokenEntry
	reps[2].GetJSON("/api/tokens?limit=1000", &active, reps[2].As(admin))
	if len(active) != 50 {
		t.Errorf("%d active tokens, want the 50 created", len(active))
	}
}

// TestClusterLaggingNodeFailsClosed: one node stops applying what the others commit (FLUSH
// TABLES WITH READ LOCK, as a backup does) for longer than the staleness limit; a token revoked
// meanwhile through another instance is accepted by the instance on the lagging node at most
// until its last feed read is REVOCATION_MAX_STALENESS old (as any instance may until its next
// read): its reads wait for the node, its feed goes stale, and it answers 503, /readyz not ready,
// until the node catches up; then 401.
func TestClusterLaggingNodeFailsClosed(t *testing.T) {
	const staleness = 2 * time.Second
	dbs := testenv.ClusterDBs(t)
	reps := startReplicas(t, dbs, map[string]string{"REVOCATION_MAX_STALENESS": staleness.String()})
	admin := reps[0].SignIn("admin@example.com", true)
	tok := reps[0].CreateToken(admin, map[string]any{"subject": "ci"})
	lagging := reps[2]
	if st := lagging.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)).Status; st != http.StatusOK {
		t.Fatalf("before: %d", st)
	}
	lock := nodeConn(t, clusterNodes()[2], "")
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
	revoked := time.Now()
	statuses := map[int]int{}
	var lastAccepted time.Duration
	for time.Since(revoked) < 3*staleness {
		st := lagging.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)).Status
		statuses[st]++
		if st == http.StatusOK {
			lastAccepted = time.Since(revoked)
			// The feed read before the lock is at most one poll (250 ms) older than the lock.
			if lastAccepted > staleness+500*time.Millisecond {
				t.Fatalf("the instance on the lagging node accepted the revoked token %v after its revocation (answers so far: %v)", lastAccepted, statuses)
			}
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
	t.Logf("answers to the revoked token while its node lagged: %v; last accepted %v after the revocation", statuses, lastAccepted.Round(time.Millisecond))
}
