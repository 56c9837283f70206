package store

import (
	"context"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"sync/atomic"

	mysqldriver "github.com/go-sql-driver/mysql"
)

// Cluster is what the database says of itself: a Galera cluster node, or a single server.
type Cluster struct {
	// Galera is set when the server is a node of a Galera cluster (wsrep_on): every read of this
	// store then waits for the node to apply what the cluster committed before it (causal reads,
	// wsrep_sync_wait = 1), so that a token, session or service user made through another node
	// is found, and a lagging or desynchronised node holds reads up instead of answering stale.
	Galera bool
	// Name, Node and Size are the cluster's name, this node's name and the cluster's size when
	// Galera; State is the node's state ("Synced", "Donor/Desynced", …).
	Name, Node, State string
	Size              int
}

// causalConnector makes every connection it opens read causally once causal is set: the
// session variable is set as the connection is made, so no read of the pool can skip it.
type causalConnector struct {
	sqldriver.Connector
	causal *atomic.Bool
}

func (c causalConnector) Connect(ctx context.Context) (sqldriver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil || !c.causal.Load() {
		return conn, err
	}
	ex, ok := conn.(sqldriver.ExecerContext)
	if !ok {
		conn.Close()
		return nil, errors.New("the MySQL connection cannot execute statements: cannot make its reads causal")
	}
	if _, err := ex.ExecContext(ctx, "SET SESSION wsrep_sync_wait = 1", nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("make the connection's reads causal (wsrep_sync_wait): %w", err)
	}
	return conn, nil
}

// DetectCluster asks the database whether it is a Galera cluster node and, if it is, makes
// every read causal from now on: the connections opened so far (idle at start-up) are closed,
// and every new one sets wsrep_sync_wait. SQLite and a single MySQL server are no cluster.
func (s *Store) DetectCluster(ctx context.Context) (Cluster, error) {
	if s.driver != MySQL {
		return Cluster{}, nil
	}
	var on int
	err := s.sql.QueryRowContext(ctx, "SELECT @@wsrep_on").Scan(&on)
	var me *mysqldriver.MySQLError
	switch {
	case errors.As(err, &me) && me.Number == 1193: // unknown system variable: MySQL, not MariaDB
		return Cluster{}, nil
	case err != nil:
		return Cluster{}, translate(err, "database")
	case on == 0:
		return Cluster{}, nil
	}
	c := Cluster{Galera: true}
	err = s.sql.QueryRowContext(ctx, "SELECT @@wsrep_cluster_name, @@wsrep_node_name").Scan(&c.Name, &c.Node)
	if err != nil {
		return Cluster{}, translate(err, "database")
	}
	if err := s.readNodeStatus(ctx, &c); err != nil {
		return Cluster{}, translate(err, "database")
	}
	s.readCausally()
	return c, nil
}

// readCausally makes every connection read causally from now on. Connections made before now
// do not: they are let go (at start-up, before the server serves, they are all idle).
func (s *Store) readCausally() {
	s.causal.Store(true)
	idle := s.sql.Stats().MaxOpenConnections
	s.sql.SetMaxIdleConns(0)
	s.sql.SetMaxIdleConns(min(maxIdleMySQL, idle))
}

// readNodeStatus reads the cluster's size and the node's state into c.
func (s *Store) readNodeStatus(ctx context.Context, c *Cluster) error {
	rows, err := s.sql.QueryContext(ctx, "SHOW STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'wsrep_local_state_comment')")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return err
		}
		if name == "wsrep_cluster_size" {
			_, _ = fmt.Sscan(value, &c.Size)
		} else {
			c.State = value
		}
	}
	return rows.Err()
}
