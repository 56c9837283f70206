package scenario

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/go-sql-driver/mysql"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/codemetrics/codemetrics/bench/internal/instance"
	"github.com/codemetrics/codemetrics/bench/internal/load"
	"github.com/codemetrics/codemetrics/bench/internal/procmetrics"
	"github.com/codemetrics/codemetrics/bench/internal/results"
)

// clusterSettings are the cluster scenario's knobs (make bench-cluster). The port defaults
// stay clear of make test-cluster's (23060-23072, 24671-24693).
type clusterSettings struct {
	// Nodes are the SQL addresses (host:port) of a running Galera cluster's nodes, as make
	// test-cluster takes them; empty: the scenario starts a cluster of three on loopback.
	Nodes       []string `env:"CLUSTER_NODES" envSeparator:","`
	SQLPort     int      `env:"BENCH_CLUSTER_SQL_PORT" envDefault:"25061"`    // the nodes' SQL ports: this and the next two
	GaleraPort  int      `env:"BENCH_CLUSTER_GALERA_PORT" envDefault:"26671"` // the nodes' Galera ports: this and up to 22 above
	DBLBPort    int      `env:"BENCH_CLUSTER_DB_LB_PORT" envDefault:"25060"`  // galera.sh's HAProxy for the nodes (its stats 9 above, the nodes' galera-check 10 to 12 above)
	HTTPPort    int      `env:"BENCH_CLUSTER_HTTP_PORT" envDefault:"25080"`   // HTTP HAProxy and replicas: this and the next eight
	Dir         string   `env:"BENCH_CLUSTER_DIR"`                            // the nodes' data (default: a new directory, removed after a run that succeeded)
	Conns       int      `env:"BENCH_CLUSTER_CONNS" envDefault:"64"`
	Revocations int      `env:"BENCH_CLUSTER_REVOCATIONS" envDefault:"20"`
}

// Revocations: how long every replica is polled for its first 401, and how long after the
// last replica refused the polling goes on (to catch a replica accepting the token again).
const (
	clusterRefuseTimeout = 5 * time.Second
	clusterPollAfter     = 200 * time.Millisecond
)

// replica is one CodeMetrics instance of the cluster scenario and the node it uses.
type replica struct {
	*instance.Process
	node string
}

// cluster measures CodeMetrics replicas on a three-node MariaDB Galera cluster, each replica
// on a node of its own, behind an HTTP HAProxy balancing them round robin: each replica's
// database statements, requests and CPU, from its own metrics, idle and under load; the throughput of one, two and three replicas
// behind HAProxy on the authenticated request of the throughput scenario; and, for
// BENCH_CLUSTER_REVOCATIONS revocations, each through one replica in turn, the time until
// every replica refuses the token. It starts the cluster (scripts/cluster/galera.sh) unless
// CLUSTER_NODES names one, and stops all it started, on error too. It runs only when named
// (BENCH_SCENARIOS=cluster: make bench-cluster).
func cluster(ctx context.Context, b *Bench) (err error) {
	var cs clusterSettings
	if err := env.Parse(&cs); err != nil {
		return err
	}
	c := &results.Cluster{Command: b.Results.Run.Command, Date: time.Now().UTC(), LoadStart: loadAverage(), Conns: cs.Conns, Seconds: b.Duration.Seconds(),
		Cores: b.Results.Run.Cores, Settings: b.Results.Run.Settings}
	b.Results.Cluster = c
	var undo []func()
	defer func() {
		for _, f := range slices.Backward(undo) {
			f()
		}
		c.LoadEnd = loadAverage()
	}()

	nodes := cs.Nodes
	if len(nodes) == 0 {
		dir, stop, serr := b.startGalera(ctx, cs)
		if stop != nil {
			undo = append(undo, func() { stop(err == nil) }) // err: the scenario's outcome
		}
		if serr != nil {
			return serr
		}
		c.Started = true
		nodes = make([]string, 3)
		for i := range nodes {
			nodes[i] = "127.0.0.1:" + strconv.Itoa(cs.SQLPort+i)
		}
		b.Logf("  cluster up in %s", dir)
	}
	nodes = nodes[:min(len(nodes), 3)]
	c.Nodes = nodes

	conns := make([]*sql.DB, len(nodes))
	for i, addr := range nodes {
		cfg := mysql.NewConfig()
		cfg.User, cfg.Net, cfg.Addr = "root", "tcp", addr
		if conns[i], err = sql.Open("mysql", cfg.FormatDSN()); err != nil {
			return err
		}
		conns[i].SetMaxOpenConns(1)
		undo = append(undo, func() { conns[i].Close() })
	}
	if c.Galera, err = galeraVersion(ctx, conns[0], len(nodes)); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "haproxy", "-v").Output(); err != nil {
		return fmt.Errorf("haproxy -v: %w (the HTTP load balancer: apt-get install haproxy)", err)
	} else {
		c.HAProxy = strings.Fields(strings.TrimPrefix(string(out), "HAProxy version ") + " ?")[0]
	}

	dsns, drop, err := clusterDatabase(ctx, conns, nodes)
	if err != nil {
		return err
	}
	undo = append(undo, drop)

	nodeOnly, err := nodeQuestionsPS(ctx, conns, nodes, b.Duration)
	if err != nil {
		return err
	}

	// The replicas start one after the other: the first runs the migrations.
	db := &DB{Bench: b, Name: "cluster", Driver: "mysql", DSN: dsns[0]}
	reps := make([]*replica, len(nodes))
	for i := range nodes {
		p := instance.Ports{HTTP: cs.HTTPPort + 3 + i, Metrics: cs.HTTPPort + 6 + i}
		env := append(append(db.serverEnv(p), b.idp.Env()...), "DATABASE_DSN="+dsns[i])
		proc, err := instance.Start(ctx, instance.Spec{Name: fmt.Sprintf("cluster-r%d", i+1), Path: b.Bin, Env: env, LogDir: b.Work}, p)
		if err != nil {
			return err
		}
		undo = append(undo, proc.Stop)
		reps[i] = &replica{Process: proc, node: nodes[i]}
	}
	b.Logf("  %d replicas up (%s), each on its own node", len(reps), strings.Join(nodes, ", "))

	lb, stopLB, err := b.startHTTPHAProxy(ctx, cs.HTTPPort, reps)
	if err != nil {
		return err
	}
	undo = append(undo, stopLB)

	tok, err := db.CreateToken(ctx, "bench-cluster-load")
	if err != nil {
		return err
	}
	if err := acceptedEverywhere(ctx, reps, "/api/system/config", tok.AccessToken); err != nil {
		return err
	}
	target := func(base string) vegeta.Target {
		return vegeta.Target{Method: http.MethodGet, URL: base + "/api/system/config", Header: http.Header{"Authorization": {"Bearer " + tok.AccessToken}}}
	}

	if err := perReplica(ctx, b, c, reps, nodeOnly, target(lb[len(reps)-1])); err != nil {
		return err
	}
	for round := 1; round <= b.Rounds; round++ {
		for n := 1; n <= len(reps); n++ {
			res, err := load.Run(ctx, load.Config{Target: target(lb[n-1]), Conns: cs.Conns, Duration: b.Duration, Warmup: b.Warmup, ServerCPU: cpuOf(reps[:n])})
			if err != nil {
				return err
			}
			b.Logf("  round %d, %d replica(s) behind HAProxy: %6.0f req/s, p50 %.3f ms, p99 %.3f ms, replicas' CPU %.1f µs/req, not 2xx %d",
				round, n, res.RPS, res.P50Ms, res.P99Ms, res.ServerCPUUs, res.NotOK())
			c.Throughput = append(c.Throughput, results.ClusterLoad{Replicas: n, Round: round, Result: res})
		}
	}

	admin, err := b.idp.SignIn(ctx, reps[0].URL)
	if err != nil {
		return err
	}
	if err := acceptedEverywhere(ctx, reps, "/api/tokens?limit=1", admin.Bearer); err != nil {
		return err
	}
	rv := &results.ClusterRevoke{Timeout: results.Duration(clusterRefuseTimeout)}
	c.Revocation = rv
	for i := range cs.Revocations {
		t, err := clusterRevocation(ctx, db, reps, i%len(reps), admin.Bearer, fmt.Sprintf("bench-cluster-revoke-%d", i+1))
		if err != nil {
			return err
		}
		b.Logf("  revocation %d through replica %d: DELETE %.1f ms, every replica refuses at +%.1f ms (%s), ok after a refusal %d",
			i+1, t.Through, t.DeleteMs, t.AllMs, msList(t.RefuseMs), t.OKAfterRefusal)
		rv.Trials = append(rv.Trials, t)
	}
	return nil
}

// startGalera starts a three-node cluster with scripts/cluster/galera.sh on cs's ports, and
// returns its directory and what stops it (and removes the directory when it made it and
// the run succeeded). stop is set even when the start fails: a node may be running.
func (b *Bench) startGalera(ctx context.Context, cs clusterSettings) (dir string, stop func(ok bool), err error) {
	script := filepath.Join(b.Root, "scripts", "cluster", "galera.sh")
	dir, made := cs.Dir, false
	if dir == "" {
		// Not under b.Work: the nodes may run as the mysql user, who cannot enter it.
		if dir, err = os.MkdirTemp("", "codemetrics-bench-cluster-"); err != nil {
			return "", nil, err
		}
		made = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", nil, err
	}
	env := append(os.Environ(),
		"CLUSTER_SQL_PORT="+strconv.Itoa(cs.SQLPort),
		"GALERA_BASE_PORT="+strconv.Itoa(cs.GaleraPort),
		"CLUSTER_LB_PORT="+strconv.Itoa(cs.DBLBPort),
		"GALERA_CHECK_PORT="+strconv.Itoa(cs.DBLBPort+10),
	)
	logPath := filepath.Join(b.Work, "galera.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return "", nil, err
	}
	runStop := func() {
		cmd := exec.Command(script, "stop", dir) // not ctx's: it stops on an interrupt too
		cmd.Env, cmd.Stdout, cmd.Stderr = env, logf, logf
		if err := cmd.Run(); err != nil {
			b.Logf("bench: %s stop %s: %v (see %s)", script, dir, err, logPath)
		}
	}
	stop = func(ok bool) {
		runStop()
		logf.Close()
		switch {
		case made && ok:
			os.RemoveAll(dir)
		case !ok:
			b.Logf("bench: the cluster's data and logs are kept in %s", dir)
		}
	}
	b.Logf("  starting a three-node Galera cluster (SQL ports %d-%d) in %s", cs.SQLPort, cs.SQLPort+2, dir)
	t0 := time.Now()
	for attempt := 1; ; attempt++ {
		cmd := exec.CommandContext(ctx, script, "start", dir)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, logf, logf
		err := cmd.Run()
		if err == nil {
			break
		}
		out, _ := os.ReadFile(logPath)
		// galera.sh checks that no server listens on its ports, but a port may be the local end
		// of some connection meanwhile (the defaults are below Linux's ephemeral range, where
		// that is rare; ports set in it are not): then HAProxy cannot bind it. Once, the nodes
		// are stopped and the cluster started afresh.
		if attempt == 1 && ctx.Err() == nil && bytes.Contains(out, []byte("Address already in use")) {
			b.Logf("  a port was in use when HAProxy bound it: starting the cluster again")
			runStop()
			for n := 1; n <= 3; n++ {
				os.RemoveAll(filepath.Join(dir, "node"+strconv.Itoa(n)))
			}
			time.Sleep(2 * time.Second)
			continue
		}
		return dir, stop, fmt.Errorf("%s start: %w; its output:\n%s", script, err, out)
	}
	b.Logf("  cluster started in %.0f s", time.Since(t0).Seconds())
	return dir, stop, nil
}

// galeraVersion is the nodes' MariaDB and Galera versions, after checking that the node is
// in a primary cluster of the expected size.
func galeraVersion(ctx context.Context, node *sql.DB, size int) (string, error) {
	var version, name, provider, clusterSize string
	if err := node.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return "", fmt.Errorf("cluster node: %w", err)
	}
	if err := node.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'wsrep_provider_version'").Scan(&name, &provider); err != nil {
		return "", fmt.Errorf("cluster node: not a Galera node? %w", err)
	}
	if err := node.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'").Scan(&name, &clusterSize); err != nil {
		return "", err
	}
	if clusterSize != strconv.Itoa(size) {
		return "", fmt.Errorf("the Galera cluster has %s nodes, CLUSTER_NODES names %d", clusterSize, size)
	}
	return version + ", Galera " + provider, nil
}

// clusterDatabase creates an empty database through the first node, waits until every node
// has it, and returns its DSN on each node and what drops it.
func clusterDatabase(ctx context.Context, conns []*sql.DB, nodes []string) ([]string, func(), error) {
	name := fmt.Sprintf("cm_bench_cluster_%d", time.Now().UnixNano())
	if _, err := conns[0].ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		return nil, nil, fmt.Errorf("cluster node %s: %w", nodes[0], err)
	}
	drop := func() { _, _ = conns[0].ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS `"+name+"`") }
	dsns := make([]string, len(nodes))
	for i, addr := range nodes {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			var got string
			err := conns[i].QueryRowContext(ctx, "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&got)
			if err == nil {
				break
			}
			if !errors.Is(err, sql.ErrNoRows) || time.Now().After(deadline) {
				drop()
				return nil, nil, fmt.Errorf("node %s does not show database %s: %v", addr, name, err)
			}
		}
		cfg := mysql.NewConfig()
		cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "tcp", addr, name
		dsns[i] = cfg.FormatDSN()
	}
	return dsns, drop, nil
}

// startHTTPHAProxy runs HAProxy in front of the replicas: on port+n-1, round robin over the
// first n replicas, for n = 1 … len(reps). It returns the base URL of each and what stops it.
func (b *Bench) startHTTPHAProxy(ctx context.Context, port int, reps []*replica) ([]string, func(), error) {
	var cfg strings.Builder
	cfg.WriteString("global\n  maxconn 4000\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n  option http-keep-alive\n  http-reuse always\n")
	urls := make([]string, len(reps))
	for n := 1; n <= len(reps); n++ {
		fmt.Fprintf(&cfg, "listen replicas%d\n  bind 127.0.0.1:%d\n  balance roundrobin\n", n, port+n-1)
		for i := range n {
			fmt.Fprintf(&cfg, "  server r%d %s\n", i+1, strings.TrimPrefix(reps[i].URL, "http://"))
		}
		urls[n-1] = "http://127.0.0.1:" + strconv.Itoa(port+n-1)
	}
	path := filepath.Join(b.Work, "haproxy-http.cfg")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		return nil, nil, err
	}
	logf, err := os.Create(filepath.Join(b.Work, "haproxy-http.log"))
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command("haproxy", "-db", "-f", path) // -db: in the foreground, so that it is this process's child
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, nil, fmt.Errorf("haproxy: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	hc := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ready := true
		for _, u := range urls {
			resp, err := hc.Get(u + "/healthz")
			if err != nil {
				ready = false
				break
			}
			resp.Body.Close()
			// A CodeMetrics answer (it names every request), not another server on the port.
			ready = ready && resp.StatusCode == http.StatusOK && resp.Header.Get("X-Request-Id") != ""
		}
		if ready {
			return urls, stop, nil
		}
		select {
		case <-exited:
			return nil, stop, fmt.Errorf("haproxy exited (config %s; see haproxy-http.log beside it)", path)
		case <-ctx.Done():
			return nil, stop, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			return nil, stop, fmt.Errorf("HAProxy (config %s) did not answer /healthz within 10 s", path)
		}
	}
}

// acceptedEverywhere waits until every replica answers path with bearer 200: a credential
// created through one node is not on the others until they applied it.
func acceptedEverywhere(ctx context.Context, reps []*replica, path, bearer string) error {
	for _, r := range reps {
		var last error
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, last = get(ctx, r.URL+path, bearer); last == nil {
				break
			}
			if ctx.Err() != nil || time.Now().After(deadline) {
				return fmt.Errorf("%s did not accept the credential within 10 s: %w", r.Name, last)
			}
		}
	}
	return nil
}

// cpuOf is the CPU seconds of reps together, for load.Config.ServerCPU.
func cpuOf(reps []*replica) func(context.Context) (float64, error) {
	return func(ctx context.Context) (float64, error) {
		sum := 0.0
		for _, r := range reps {
			s, err := r.CPUSeconds(ctx)
			if err != nil {
				return 0, err
			}
			sum += s
		}
		return sum, nil
	}
}

// replicaReading is one replica's counters at one moment.
type replicaReading struct {
	statements, requests, cpu float64
	at                        time.Time
}

// nodeQuestionsPS is each node's statements/s over d with no replica running, the benchmark's
// own readings taken out.
func nodeQuestionsPS(ctx context.Context, conns []*sql.DB, nodes []string, d time.Duration) ([]float64, error) {
	read := func() ([]int64, time.Time, error) {
		q := make([]int64, len(conns))
		for i, c := range conns {
			var name string
			if err := c.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Questions'").Scan(&name, &q[i]); err != nil {
				return nil, time.Time{}, fmt.Errorf("node %s: Questions: %w", nodes[i], err)
			}
		}
		return q, time.Now(), nil
	}
	q0, t0, err := read()
	if err != nil {
		return nil, err
	}
	time.Sleep(d)
	q1, t1, err := read()
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(conns))
	for i := range out {
		out[i] = float64(q1[i]-q0[i]-1) / t1.Sub(t0).Seconds()
	}
	return out, nil
}

// readReplicas reads every replica's statements, requests and CPU from its own metrics.
func readReplicas(ctx context.Context, reps []*replica) ([]replicaReading, error) {
	out := make([]replicaReading, len(reps))
	for i, r := range reps {
		m, err := procmetrics.Sums(ctx, r.MetricsURL, "codemetrics_database_statements_total", "codemetrics_http_requests_total", "process_cpu_seconds_total")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		out[i] = replicaReading{
			statements: m["codemetrics_database_statements_total"], requests: m["codemetrics_http_requests_total"],
			cpu: m["process_cpu_seconds_total"], at: time.Now(),
		}
	}
	return out, nil
}

// perReplica reads every replica's statements (codemetrics_database_statements_total: what it
// sent its node), requests and CPU over one period idle, then over the same period of load
// through HAProxy onto all of them.
func perReplica(ctx context.Context, b *Bench, c *results.Cluster, reps []*replica, nodeOnly []float64, tgt vegeta.Target) error {
	r0, err := readReplicas(ctx, reps)
	if err != nil {
		return err
	}
	time.Sleep(b.Duration)
	r1, err := readReplicas(ctx, reps)
	if err != nil {
		return err
	}
	res, err := load.Run(ctx, load.Config{Target: tgt, Conns: c.Conns, Duration: b.Duration})
	if err != nil {
		return err
	}
	r2, err := readReplicas(ctx, reps)
	if err != nil {
		return err
	}
	c.LoadResult = &res
	for i, r := range reps {
		idle, busy := r1[i].at.Sub(r0[i].at).Seconds(), r2[i].at.Sub(r1[i].at).Seconds()
		cr := results.ClusterReplica{
			Node:              r.node,
			NodeOnlyQueriesPS: nodeOnly[i],
			IdleQueriesPS:     (r1[i].statements - r0[i].statements) / idle,
			LoadQueriesPS:     (r2[i].statements - r1[i].statements) / busy,
			LoadRequestsPS:    (r2[i].requests - r1[i].requests) / busy,
			IdleCPU:           (r1[i].cpu - r0[i].cpu) / idle,
			LoadCPU:           (r2[i].cpu - r1[i].cpu) / busy,
		}
		b.Logf("  replica %d on %s: %.1f queries/s idle, %.1f under load (%.0f of its requests/s), CPU %.2f then %.2f cores",
			i+1, r.node, cr.IdleQueriesPS, cr.LoadQueriesPS, cr.LoadRequestsPS, cr.IdleCPU, cr.LoadCPU)
		c.Replicas = append(c.Replicas, cr)
	}
	b.Logf("  the load: %.0f req/s through HAProxy, not 2xx %d", res.RPS, res.NotOK())
	return nil
}

// clusterRevocation issues a token, waits until every replica accepts it, polls every replica
// with it (one connection each, a request every millisecond or so), revokes it through
// replica through, and records when each replica's first 401 ended, from the moment the
// DELETE's answer was read.
func clusterRevocation(ctx context.Context, db *DB, reps []*replica, through int, adminBearer, subject string) (results.ClusterRevokeTrial, error) {
	t := results.ClusterRevokeTrial{Through: through + 1, AllMs: -1}
	tok, err := db.CreateToken(ctx, subject)
	if err != nil {
		return t, err
	}
	if err := acceptedEverywhere(ctx, reps, "/api/system/config", tok.AccessToken); err != nil {
		return t, err
	}
	stop := make(chan struct{})
	refused := make([]chan struct{}, len(reps))
	recs := make([][]exchange, len(reps))
	var wg sync.WaitGroup
	for i, r := range reps {
		refused[i] = make(chan struct{})
		client := load.Client(1)
		wg.Go(func() {
			defer client.CloseIdleConnections()
			seen := false
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.URL+"/api/system/config", nil)
				req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					time.Sleep(time.Millisecond)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				recs[i] = append(recs[i], exchange{start: start, end: time.Now(), status: resp.StatusCode})
				if resp.StatusCode == http.StatusUnauthorized && !seen {
					seen = true
					close(refused[i])
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	del := load.Client(1)
	defer del.CloseIdleConnections()
	base := reps[through].URL
	if warm, err := del.Get(base + "/healthz"); err == nil {
		_, _ = io.Copy(io.Discard, warm.Body)
		warm.Body.Close()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, base+"/api/tokens/"+tok.TokenID, nil)
	if err != nil {
		return t, err
	}
	req.Header.Set("Authorization", "Bearer "+adminBearer)
	time.Sleep(50 * time.Millisecond)
	sent := time.Now()
	resp, err := del.Do(req)
	returned := time.Now()
	if err != nil {
		return t, fmt.Errorf("DELETE through %s: %w", reps[through].Name, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	t.DeleteMs = ms(returned.Sub(sent))
	if resp.StatusCode != http.StatusNoContent {
		return t, fmt.Errorf("DELETE through %s answered %d, want 204", reps[through].Name, resp.StatusCode)
	}
	timeout := time.After(clusterRefuseTimeout)
	for i := range reps {
		select {
		case <-refused[i]:
		case <-timeout:
		case <-ctx.Done():
			return t, ctx.Err()
		}
	}
	time.Sleep(clusterPollAfter)
	close(stop)
	wg.Wait()

	all := 0.0
	for i := range reps {
		first := time.Time{}
		for _, e := range recs[i] {
			if e.status == http.StatusUnauthorized {
				first = e.end
				break
			}
		}
		if first.IsZero() {
			t.RefuseMs = append(t.RefuseMs, -1)
			all = -1
			continue
		}
		d := ms(first.Sub(returned))
		t.RefuseMs = append(t.RefuseMs, d)
		if all >= 0 {
			all = max(all, d)
		}
		for _, e := range recs[i] {
			if e.status >= 200 && e.status < 300 && e.start.After(first) {
				t.OKAfterRefusal++
			}
		}
	}
	t.AllMs = all
	return t, nil
}

func msList(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strings.Join(parts, ", ") + " ms"
}
