package store_test

import (
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/codemetrics/codemetrics/backend/internal/galeracheck"
)

// TestClusterGaleraCheck: codemetrics galera-check on a real cluster (make test-cluster; skipped
// without CLUSTER_NODES). A Synced node answers 200; desynchronised with wsrep_desync=ON (what
// a backup tool does) it answers 503 "node is Donor/Desynced", and 200 again once it is back in
// step; the plain MariaDB server of TEST_MYSQL_DSN answers 503 "not a Galera node".
func TestClusterGaleraCheck(t *testing.T) {
	v := os.Getenv("CLUSTER_NODES")
	if v == "" {
		t.Skip("CLUSTER_NODES not set: make test-cluster runs this on a Galera cluster")
	}
	nodes := strings.Split(v, ",")
	addr := nodes[len(nodes)-1] // a backup of HAProxy's single writer: the other tests keep their node
	dsn := "root@tcp(" + addr + ")/"
	admin, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() }) // after the cleanup below: cleanups run last first
	t.Cleanup(func() {
		if _, err := admin.Exec("SET GLOBAL wsrep_desync = OFF"); err != nil {
			t.Errorf("node %s may be left desynchronised: %v", addr, err)
		}
	})

	c, err := galeracheck.New(dsn, time.Second, galeracheck.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := httptest.NewServer(c)
	defer srv.Close()
	ask := func() (int, string) {
		req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	// Against a real node the state changes on the node's time: poll with a deadline.
	waitFor := func(what string, code int, reason string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		var gotCode int
		var got string
		start := time.Now()
		for time.Now().Before(deadline) {
			if gotCode, got = ask(); gotCode == code && got == reason {
				t.Logf("%s: %d %q after %s", what, gotCode, got, time.Since(start).Round(time.Millisecond))
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: the check answers %d %q, want %d %q", what, gotCode, got, code, reason)
	}

	waitFor("synced node", 200, "node is Synced (wsrep_local_state 4)")
	if _, err := admin.Exec("SET GLOBAL wsrep_desync = ON"); err != nil {
		t.Fatal(err)
	}
	waitFor("desynchronised node", 503, "node is Donor/Desynced (wsrep_local_state 2)")
	if _, err := admin.Exec("SET GLOBAL wsrep_desync = OFF"); err != nil {
		t.Fatal(err)
	}
	waitFor("node back in step", 200, "node is Synced (wsrep_local_state 4)")

	plain := os.Getenv("TEST_MYSQL_DSN")
	if plain == "" {
		t.Log("TEST_MYSQL_DSN not set: the plain server's answer is not checked here")
		return
	}
	cfg, err := mysql.ParseDSN(plain)
	if err != nil {
		t.Fatal(err)
	}
	p, err := galeracheck.New(cfg.FormatDSN(), time.Second, galeracheck.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	psrv := httptest.NewServer(p)
	defer psrv.Close()
	resp, err := http.Get(psrv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || strings.TrimSpace(string(b)) != "not a Galera node (wsrep_on is OFF)" {
		t.Errorf("plain MariaDB server: %d %q, want 503 \"not a Galera node (wsrep_on is OFF)\"", resp.StatusCode, b)
	}
}
