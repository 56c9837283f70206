package store

import (
	"context"
	"os"
	"testing"
)

// mysqlServer opens the test MariaDB server, without a database: for tests of connections only.
func mysqlServer(t *testing.T) *Store {
	t.Helper()
	dsn := os.Getenv("TEST_MYSQL_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_MYSQL_DSN is not set; CI must test MySQL")
		}
		t.Skip("TEST_MYSQL_DSN not set")
	}
	st, err := Open(MySQL, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestSingleServerIsNoCluster: a MariaDB server without Galera (wsrep_on = 0) is reported as
// no cluster, and its reads stay as they are.
func TestSingleServerIsNoCluster(t *testing.T) {
	st := mysqlServer(t)
	c, err := st.DetectCluster(context.Background())
	if err != nil || c.Galera {
		t.Fatalf("DetectCluster = %+v, %v; want no cluster", c, err)
	}
	var wait int
	if err := st.sql.QueryRow("SELECT @@SESSION.wsrep_sync_wait").Scan(&wait); err != nil || wait != 0 {
		t.Errorf("wsrep_sync_wait = %d (%v), want 0 off a cluster", wait, err)
	}
}

// TestCausalReadsReachEveryConnection: once reads are causal (as DetectCluster makes them on a
// Galera node), every connection of the pool has wsrep_sync_wait set, the ones opened before
// included: none is left to read without waiting for the node.
func TestCausalReadsReachEveryConnection(t *testing.T) {
	st := mysqlServer(t)
	ctx := context.Background()
	// Open a few connections before, and leave them idle in the pool.
	conns := make([]interface{ Close() error }, 4)
	for i := range conns {
		c, err := st.sql.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	for _, c := range conns {
		c.Close()
	}
	st.readCausally() // what DetectCluster does once it has found a Galera node
	for range 8 {
		c, err := st.sql.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var wait int
		if err := c.QueryRowContext(ctx, "SELECT @@SESSION.wsrep_sync_wait").Scan(&wait); err != nil || wait != 1 {
			t.Errorf("wsrep_sync_wait = %d (%v), want 1", wait, err)
		}
		defer c.Close()
	}
}
