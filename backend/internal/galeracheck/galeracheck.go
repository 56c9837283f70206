// Package galeracheck answers a load balancer's health check for one MariaDB Galera node
// (codemetrics galera-check): 200 when the node is usable, 503 with a one-line reason when it is
// not. A node that accepts logins is not necessarily usable: a Donor/Desynced node lags, a
// Joining one has no data yet and a non-Primary one refuses writes, so HAProxy's mysql-check
// would keep sending connections to all of them. This is Percona's clustercheck without xinetd.
//
// Each check queries the node over one connection with a short timeout; checks that arrive
// while one is running share its answer, so a slow node never piles up connections. The DSN's
// password never appears in an answer or a log line.
package galeracheck

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"golang.org/x/sync/singleflight"
)

// Status is what a node says of itself: the variables the answer is decided from.
type Status struct {
	// WsrepOn is the wsrep_on variable ("ON" on a Galera node; "" when the server has none,
	// as MySQL).
	WsrepOn string
	// Ready is wsrep_ready: ON when the node accepts queries.
	Ready string
	// ClusterStatus is wsrep_cluster_status: Primary, non-Primary or Disconnected.
	ClusterStatus string
	// LocalState is wsrep_local_state: 1 Joining, 2 Donor/Desynced, 3 Joined, 4 Synced; -1 when
	// the node did not say.
	LocalState int
	// LocalStateComment is wsrep_local_state_comment, such as "Synced" or "Donor/Desynced".
	LocalStateComment string
}

// Synced is wsrep_local_state's value for a node that is in step with the cluster.
const Synced = 4

// DonorDesynced is wsrep_local_state's value for a node that sends a state transfer or was
// desynchronised (wsrep_desync=ON, a backup).
const DonorDesynced = 2

var stateNames = map[int]string{1: "Joining", 2: "Donor/Desynced", 3: "Joined", 4: "Synced"}

// Answer is a check's verdict: the HTTP status (200 or 503) and a one-line reason.
type Answer struct {
	Code   int
	Reason string
}

// OK says whether the node is usable.
func (a Answer) OK() bool { return a.Code == http.StatusOK }

// Options tune the verdict.
type Options struct {
	// AvailableWhenDonor keeps a Donor/Desynced node in service (200): for a donor whose state
	// transfer does not block it (mariabackup), when the cluster has no other node to send to.
	AvailableWhenDonor bool
}

// Decide maps a node's status to the answer: 200 only for a Galera node that is in the
// primary component, ready and Synced (or Donor/Desynced with AvailableWhenDonor).
func Decide(s Status, o Options) Answer {
	unavailable := func(format string, args ...any) Answer {
		return Answer{http.StatusServiceUnavailable, fmt.Sprintf(format, args...)}
	}
	if !strings.EqualFold(s.WsrepOn, "ON") {
		if s.WsrepOn == "" {
			return unavailable("not a Galera node (the server has no wsrep_on variable)")
		}
		return unavailable("not a Galera node (wsrep_on is %s)", s.WsrepOn)
	}
	if s.ClusterStatus != "Primary" {
		return unavailable("node is not in the primary component (wsrep_cluster_status %s)", orNone(s.ClusterStatus))
	}
	if !strings.EqualFold(s.Ready, "ON") {
		return unavailable("node is not ready (wsrep_ready %s)", orNone(s.Ready))
	}
	name := s.LocalStateComment
	if name == "" {
		name = stateNames[s.LocalState]
	}
	if name == "" {
		name = "in an unknown state"
	}
	switch {
	case s.LocalState == Synced:
		return Answer{http.StatusOK, "node is Synced (wsrep_local_state 4)"}
	case s.LocalState == DonorDesynced && o.AvailableWhenDonor:
		return Answer{http.StatusOK, "node is Donor/Desynced (wsrep_local_state 2), kept in service by --available-when-donor"}
	case s.LocalState < 0:
		return unavailable("node did not report wsrep_local_state")
	default:
		return unavailable("node is %s (wsrep_local_state %d)", name, s.LocalState)
	}
}

func orNone(v string) string {
	if v == "" {
		return "unset"
	}
	return v
}

// Checker checks one node.
type Checker struct {
	db      *sql.DB
	addr    string
	secret  string
	timeout time.Duration
	opts    Options
	log     *slog.Logger

	checks singleflight.Group // checks that arrive while one runs share it
	last   Answer             // the previous answer (only the running check touches it)
}

// New makes a checker of the node the go-sql-driver/mysql DSN names (user:pass@tcp(host:port)/;
// the user needs no privilege: SHOW GLOBAL STATUS and VARIABLES are open to any). Each check
// gives up after timeout. Nothing is connected until the first check.
func New(dsn string, timeout time.Duration, opts Options, log *slog.Logger) (*Checker, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		// The driver's message may quote the DSN, password included.
		return nil, errors.New("the node's DSN is not a go-sql-driver/mysql DSN such as user:password@tcp(host:3306)/")
	}
	if timeout <= 0 {
		return nil, errors.New("the check timeout must be positive")
	}
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = timeout, timeout, timeout
	cfg.DBName = ""
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, errors.New("the node's DSN is not usable: " + scrub(err.Error(), cfg.Passwd))
	}
	db := sql.OpenDB(connector)
	// One connection, kept between checks: a check never opens a second one.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(10 * time.Minute)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Checker{db: db, addr: cfg.Addr, secret: cfg.Passwd, timeout: timeout, opts: opts, log: log}, nil
}

// Addr is the node's address (host:port), for logs: never the DSN.
func (c *Checker) Addr() string { return c.addr }

// Close closes the connection to the node.
func (c *Checker) Close() error { return c.db.Close() }

// Check queries the node and decides. A check that arrives while another runs waits for that
// one's answer instead of querying again.
func (c *Checker) Check(ctx context.Context) Answer {
	ch := c.checks.DoChan("", func() (any, error) { return c.checkNow(), nil })
	select {
	case r := <-ch:
		return r.Val.(Answer)
	case <-ctx.Done():
		return Answer{http.StatusServiceUnavailable, "check abandoned: " + ctx.Err().Error()}
	}
}

// checkNow queries the node on the query's own deadline, not a caller's (the callers waiting
// on it share its answer), and logs a change of answer.
func (c *Checker) checkNow() Answer {
	qctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	s, err := c.status(qctx)
	cancel()
	var ans Answer
	if err != nil {
		ans = Answer{http.StatusServiceUnavailable, c.describe(err)}
	} else {
		ans = Decide(s, c.opts)
	}
	if ans != c.last {
		c.last = ans
		if ans.OK() {
			c.log.Info("galera node is usable", "node", c.addr, "reason", ans.Reason)
		} else {
			c.log.Warn("galera node is not usable", "node", c.addr, "reason", ans.Reason)
		}
	}
	return ans
}

func (c *Checker) status(ctx context.Context) (Status, error) {
	s := Status{LocalState: -1}
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return s, err
	}
	defer conn.Close()
	var name, value string
	err = conn.QueryRowContext(ctx, "SHOW GLOBAL VARIABLES LIKE 'wsrep_on'").Scan(&name, &value)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return s, nil // MySQL: no Galera at all
	case err != nil:
		return s, err
	}
	s.WsrepOn = value
	rows, err := conn.QueryContext(ctx, "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_cluster_status', 'wsrep_local_state', 'wsrep_local_state_comment')")
	if err != nil {
		return s, err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&name, &value); err != nil {
			return s, err
		}
		switch strings.ToLower(name) {
		case "wsrep_ready":
			s.Ready = value
		case "wsrep_cluster_status":
			s.ClusterStatus = value
		case "wsrep_local_state":
			if n, err := strconv.Atoi(value); err == nil {
				s.LocalState = n
			}
		case "wsrep_local_state_comment":
			s.LocalStateComment = value
		}
	}
	return s, rows.Err()
}

// describe says in one line why the node could not be checked, without the password.
func (c *Checker) describe(err error) string {
	var msg string
	var me *mysql.MySQLError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		msg = fmt.Sprintf("cannot reach the node: no answer within %s", c.timeout)
	case errors.As(err, &me):
		msg = "the node refused the check: " + me.Error()
	default:
		msg = "cannot reach the node: " + err.Error()
	}
	return strings.Join(strings.Fields(scrub(msg, c.secret)), " ")
}

func scrub(msg, secret string) string {
	if secret == "" {
		return msg
	}
	return strings.ReplaceAll(msg, secret, "***")
}

// ServeHTTP answers any request (HAProxy's option httpchk sends OPTIONS / by default) with the
// check's status code and reason.
func (c *Checker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := c.Check(r.Context())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(a.Code)
	if r.Method != http.MethodHead {
		_, _ = fmt.Fprintln(w, a.Reason)
	}
}

// Serve answers checks on addr until ctx ends; listening is called with the bound address.
func Serve(ctx context.Context, addr string, c *Checker, listening func(addr string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           c,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      c.timeout + 5*time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(c.log.Handler(), slog.LevelWarn),
	}
	if listening != nil {
		listening(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	}
}
