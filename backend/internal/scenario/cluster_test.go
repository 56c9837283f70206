package scenario_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/auth"
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

// TestClusterNodeLoss is the production layout under a node loss: three instances reach the
// cluster through HAProxy (CLUSTER_LB: a single writer, node 1, with nodes 2 and 3 as backups),
// and under a steady load of writes (token creations and revocations, pipeline runs, sign-ins)
// and authenticated reads spread over them, node 1 is killed (SIGKILL, as a crash) and started
// again a few seconds later (CLUSTER_DIR: the cluster's directory, for galera.sh kill and
// restart). Clients see only 503s, for at most nodeLossOutage; every write acknowledged is there
// afterwards, through every instance and on the rejoined node itself; every instance refuses
// every token whose revocation was acknowledged; the node rejoins by itself (Synced, in a
// cluster of three). It kills a node, so make test-cluster runs it on its own, after the others.
func TestClusterNodeLoss(t *testing.T) {
	dir, lb := os.Getenv("CLUSTER_DIR"), os.Getenv("CLUSTER_LB")
	if dir == "" || lb == "" {
		t.Skip("CLUSTER_DIR and CLUSTER_LB not set: make test-cluster runs this after the other scenarios, since it kills a node")
	}
	const nodeLossOutage = 5 * time.Second
	dbs := testenv.ClusterDBs(t)
	viaLB := dbs[0]
	viaLB.DSN = strings.Replace(viaLB.DSN, clusterNodes()[0], lb, 1)
	reps := startReplicas(t, []testenv.DB{viaLB, viaLB, viaLB}, nil)
	admin := reps[0].SignIn("admin@example.com", true)
	writer := reps[0].CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"pipeline:write", "metrics:read"}, "workloads": []string{"*"}})
	toRevoke := make([]testenv.CreatedToken, 120)
	for i := range toRevoke {
		toRevoke[i] = reps[i%3].CreateToken(admin, map[string]any{"subject": fmt.Sprintf("old-%d", i)})
	}

	l := &nodeLossLoad{client: &http.Client{Timeout: 30 * time.Second}, start: time.Now()}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, e := range reps {
		revokeNext := make(chan testenv.CreatedToken, len(toRevoke))
		for j := i; j < len(toRevoke); j += 3 {
			revokeNext <- toRevoke[j]
		}
		close(revokeNext)
		wg.Go(func() { l.reads(ctx, e, writer.AccessToken) })
		wg.Go(func() { l.creations(ctx, e, admin) })
		wg.Go(func() { l.revocations(ctx, e, admin, revokeNext) })
		wg.Go(func() { l.runs(ctx, e, writer.AccessToken, i) })
		wg.Go(func() { l.signIns(ctx, e) })
	}

	time.Sleep(2 * time.Second) // load before the loss
	killed := time.Since(l.start)
	galera(t, "kill", dir, "1")
	time.Sleep(3 * time.Second) // the node stays down for a while, as a crashed server does
	restart := time.Now()
	galera(t, "restart", dir, "1")
	rejoined := time.Since(restart)
	time.Sleep(2 * time.Second) // load after the rejoin
	stop()
	wg.Wait()

	node1 := nodeConn(t, clusterNodes()[0], "")
	var state, size string
	if err := node1.QueryRow("SELECT (SELECT variable_value FROM information_schema.global_status WHERE variable_name = 'wsrep_local_state_comment'), (SELECT variable_value FROM information_schema.global_status WHERE variable_name = 'wsrep_cluster_size')").Scan(&state, &size); err != nil {
		t.Fatal(err)
	}
	if state != "Synced" || size != "3" {
		t.Errorf("the restarted node is %s in a cluster of %s, want Synced in a cluster of 3", state, size)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	var first, last time.Duration
	for i, f := range l.failures {
		if f.status != http.StatusServiceUnavailable {
			t.Errorf("%s at %v: %d %s, want only 503 while a node is lost", f.what, f.at.Round(time.Millisecond), f.status, f.body)
		}
		if i == 0 || f.at < first {
			first = f.at
		}
		last = max(last, f.at)
	}
	if len(l.failures) > 0 && last-first > nodeLossOutage {
		t.Errorf("503s from %v to %v after the start (node killed at %v): %v, want at most %v", first.Round(time.Millisecond), last.Round(time.Millisecond), killed.Round(time.Millisecond), (last - first).Round(time.Millisecond), nodeLossOutage)
	}
	t.Logf("node 1 killed at %v, down 3 s, rejoined (Synced) %v after its restart; %d requests, %d answered 503, from %v to %v after the kill (%v)",
		killed.Round(time.Millisecond), rejoined.Round(time.Millisecond), l.requests, len(l.failures), (first - killed).Round(time.Millisecond), (last - killed).Round(time.Millisecond), (last - first).Round(time.Millisecond))
	t.Logf("acknowledged during the load: %d token creations, %d revocations, %d runs, %d sign-ins", len(l.created), len(l.revoked), len(l.recorded), len(l.sessions))
	if len(l.created) == 0 || len(l.revoked) == 0 || len(l.recorded) == 0 || len(l.sessions) == 0 {
		t.Fatal("a kind of write never succeeded: the load did not run")
	}

	// Every acknowledged write is there, through every instance.
	time.Sleep(time.Second) // feeds read every 250 ms: every instance has read the last revocations
	for i, e := range reps {
		for _, tok := range l.created {
			if st := l.status(e, http.MethodGet, "/api/system/config", testenv.Bearer(tok.AccessToken)); st != http.StatusOK {
				t.Errorf("instance %d: token %s, whose creation was acknowledged: %d", i, tok.TokenID, st)
			}
		}
		for _, tok := range l.revoked {
			if st := l.status(e, http.MethodGet, "/api/system/config", testenv.Bearer(tok.AccessToken)); st != http.StatusUnauthorized {
				t.Errorf("instance %d: token %s, whose revocation was acknowledged: %d, want 401", i, tok.TokenID, st)
			}
		}
		for _, s := range l.sessions {
			if st := l.status(e, http.MethodGet, "/api/auth/me", testenv.Cookie(s)); st != http.StatusOK {
				t.Errorf("instance %d: a session whose sign-in succeeded: %d", i, st)
			}
		}
	}
	// And on the node that was lost, once it rejoined.
	cfg, err := mysql.ParseDSN(viaLB.DSN)
	if err != nil {
		t.Fatal(err)
	}
	onNode1 := nodeConn(t, clusterNodes()[0], cfg.DBName)
	if _, err := onNode1.Exec("SET SESSION wsrep_sync_wait = 1"); err != nil {
		t.Fatal(err)
	}
	onNode := func(query string) map[string]bool {
		rows, err := onNode1.Query(query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		set := map[string]bool{}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			set[v] = true
		}
		return set
	}
	runs := onNode("SELECT run_id FROM pipeline_runs")
	tokens := onNode("SELECT id FROM service_tokens")
	revoked := onNode("SELECT id FROM service_tokens WHERE revoked_at IS NOT NULL")
	for _, id := range l.recorded {
		if !runs[id] {
			t.Errorf("run %s, acknowledged, is not on the rejoined node", id)
		}
	}
	for _, tok := range l.created {
		if !tokens[tok.TokenID] {
			t.Errorf("token %s, acknowledged, is not on the rejoined node", tok.TokenID)
		}
	}
	for _, tok := range l.revoked {
		if !revoked[tok.TokenID] {
			t.Errorf("the revocation of %s, acknowledged, is not on the rejoined node", tok.TokenID)
		}
	}
}

// galera runs scripts/cluster/galera.sh with args.
func galera(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("../../../scripts/cluster/galera.sh", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("galera.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// nodeLossLoad is the load of TestClusterNodeLoss: what was acknowledged, and what failed.
type nodeLossLoad struct {
	client *http.Client
	start  time.Time

	mu       sync.Mutex
	requests int
	failures []nodeLossFailure
	created  []testenv.CreatedToken
	revoked  []testenv.CreatedToken
	recorded []string
	sessions []testenv.Session
}

type nodeLossFailure struct {
	what   string
	at     time.Duration // since the start of the load
	status int           // 0: no answer
	body   string
}

// do sends a request on the load's own client (testenv's fails the test from its goroutine on
// a transport error) and returns the status (0 for no answer) and the body; anything but want
// is a failure.
func (l *nodeLossLoad) do(e *testenv.Env, what string, want int, method, path string, body any, opts ...testenv.Opt) (int, []byte) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, e.URL+path, bytes.NewReader(b))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	st := 0
	resp, err := l.client.Do(req)
	if err == nil {
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		st = resp.StatusCode
	} else {
		b = []byte(err.Error())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests++
	if st != want {
		l.failures = append(l.failures, nodeLossFailure{what: what, at: time.Since(l.start), status: st, body: string(b)})
	}
	return st, b
}

// status is the status of a request (0 for no answer), for the checks after the load.
func (l *nodeLossLoad) status(e *testenv.Env, method, path string, opts ...testenv.Opt) int {
	req, err := http.NewRequest(method, e.URL+path, nil)
	if err != nil {
		return 0
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// pace keeps each worker at about 20 requests a second, so the two cores serve the cluster too.
func pace(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(50 * time.Millisecond):
		return true
	}
}

func (l *nodeLossLoad) reads(ctx context.Context, e *testenv.Env, tok string) {
	for pace(ctx) {
		l.do(e, "read", http.StatusOK, http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok))
	}
}

func (l *nodeLossLoad) creations(ctx context.Context, e *testenv.Env, admin testenv.Session) {
	for i := 0; pace(ctx); i++ {
		st, b := l.do(e, "create", http.StatusCreated, http.MethodPost, "/api/tokens", map[string]any{"subject": fmt.Sprintf("new-%d", i)}, e.As(admin))
		var c testenv.CreatedToken
		if st == http.StatusCreated && json.Unmarshal(b, &c) == nil {
			l.mu.Lock()
			l.created = append(l.created, c)
			l.mu.Unlock()
		}
	}
}

func (l *nodeLossLoad) revocations(ctx context.Context, e *testenv.Env, admin testenv.Session, next <-chan testenv.CreatedToken) {
	for tok := range next {
		if !pace(ctx) {
			return
		}
		if st, _ := l.do(e, "revoke", http.StatusNoContent, http.MethodDelete, "/api/tokens/"+tok.TokenID, nil, e.As(admin)); st == http.StatusNoContent {
			l.mu.Lock()
			l.revoked = append(l.revoked, tok)
			l.mu.Unlock()
		}
	}
}

func (l *nodeLossLoad) runs(ctx context.Context, e *testenv.Env, tok string, instance int) {
	day := time.Now().UTC().Add(-time.Hour)
	for i := 0; pace(ctx); i++ {
		id := fmt.Sprintf("run-%d-%d", instance, i)
		r := map[string]any{
			"id": id, "workload": fmt.Sprintf("node-loss-%d", instance), "pipeline": "ci", "kind": "build", "status": "success",
			"branch": "main", "commit": "0123456789abcdef0123456789abcdef01234567",
			"startedAt": day.Format(time.RFC3339), "finishedAt": day.Add(time.Minute).Format(time.RFC3339),
		}
		if st, _ := l.do(e, "record run", http.StatusCreated, http.MethodPost, "/api/pipeline/runs", r, testenv.Bearer(tok)); st == http.StatusCreated {
			l.mu.Lock()
			l.recorded = append(l.recorded, id)
			l.mu.Unlock()
		}
	}
}

// signIns start sessions through the function the OIDC callback calls (the sign-in's write).
func (l *nodeLossLoad) signIns(ctx context.Context, e *testenv.Env) {
	for i := 0; pace(ctx); i++ {
		email := fmt.Sprintf("dev%d@example.com", i)
		secret, _, err := e.Server.Sessions.Start(ctx, auth.Identity{Issuer: testenv.TestIssuer, Subject: email, Email: email, EmailVerified: true, Name: "dev"})
		l.mu.Lock()
		l.requests++
		if err != nil {
			if ctx.Err() == nil {
				l.failures = append(l.failures, nodeLossFailure{what: "sign-in", at: time.Since(l.start), status: signInStatus(err), body: err.Error()})
			}
		} else {
			l.sessions = append(l.sessions, testenv.Session{Cookie: &http.Cookie{Name: "codemetrics_session", Value: secret}})
		}
		l.mu.Unlock()
	}
}

// signInStatus is the status the sign-in's callback would answer for err.
func signInStatus(err error) int {
	if apperr.Is(err, apperr.Unavailable) {
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
