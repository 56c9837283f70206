package galeracheck_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/galeracheck"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestDecide: only a Galera node that is Primary, ready and Synced is usable (200); every other
// state is a 503 whose reason names the state, as HAProxy's check log and an operator's curl show.
func TestDecide(t *testing.T) {
	synced := galeracheck.Status{WsrepOn: "ON", Ready: "ON", ClusterStatus: "Primary", LocalState: 4, LocalStateComment: "Synced"}
	with := func(f func(*galeracheck.Status)) galeracheck.Status { s := synced; f(&s); return s }
	cases := []struct {
		name   string
		s      galeracheck.Status
		o      galeracheck.Options
		code   int
		reason string
	}{
		{"synced", synced, galeracheck.Options{}, 200, "node is Synced (wsrep_local_state 4)"},
		{"donor", with(func(s *galeracheck.Status) { s.LocalState, s.LocalStateComment = 2, "Donor/Desynced" }), galeracheck.Options{}, 503, "node is Donor/Desynced (wsrep_local_state 2)"},
		{"donor kept in service", with(func(s *galeracheck.Status) { s.LocalState, s.LocalStateComment = 2, "Donor/Desynced" }), galeracheck.Options{AvailableWhenDonor: true}, 200, "node is Donor/Desynced (wsrep_local_state 2), kept in service by --available-when-donor"},
		{"joining", with(func(s *galeracheck.Status) { s.LocalState, s.LocalStateComment = 1, "Joining" }), galeracheck.Options{AvailableWhenDonor: true}, 503, "node is Joining (wsrep_local_state 1)"},
		{"joined, no comment", with(func(s *galeracheck.Status) { s.LocalState, s.LocalStateComment = 3, "" }), galeracheck.Options{}, 503, "node is Joined (wsrep_local_state 3)"},
		{"no local state", with(func(s *galeracheck.Status) { s.LocalState, s.LocalStateComment = -1, "" }), galeracheck.Options{}, 503, "node did not report wsrep_local_state"},
		{"non-primary", with(func(s *galeracheck.Status) { s.ClusterStatus, s.Ready, s.LocalState = "non-Primary", "OFF", 0 }), galeracheck.Options{}, 503, "node is not in the primary component (wsrep_cluster_status non-Primary)"},
		{"not ready", with(func(s *galeracheck.Status) { s.Ready = "OFF" }), galeracheck.Options{}, 503, "node is not ready (wsrep_ready OFF)"},
		{"wsrep off", galeracheck.Status{WsrepOn: "OFF", Ready: "OFF", ClusterStatus: "Disconnected", LocalState: 0}, galeracheck.Options{}, 503, "not a Galera node (wsrep_on is OFF)"},
		{"mysql", galeracheck.Status{LocalState: -1}, galeracheck.Options{}, 503, "not a Galera node (the server has no wsrep_on variable)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := galeracheck.Decide(c.s, c.o)
			if got.Code != c.code || got.Reason != c.reason {
				t.Errorf("Decide(%+v) = %d %q, want %d %q", c.s, got.Code, got.Reason, c.code, c.reason)
			}
		})
	}
}

// get asks the check over HTTP, as HAProxy's option httpchk does (OPTIONS /).
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodOptions, url+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestUnreachableNodeOneConnectionNoPassword: a node that accepts the connection but never
// answers gets 503 "cannot reach the node" within the timeout; twenty checks at once open one
// connection between them; the password is in no answer and no log line.
func TestUnreachableNodeOneConnectionNoPassword(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			defer c.Close() // silent: no MySQL greeting ever comes
		}
	}()
	const password = "hunter2-very-secret"
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	c, err := galeracheck.New("check:"+password+"@tcp("+ln.Addr().String()+")/", 300*time.Millisecond, galeracheck.Options{}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := httptest.NewServer(c)
	defer srv.Close()

	start := time.Now()
	var wg sync.WaitGroup
	answers := make([]string, 20)
	codes := make([]int, 20)
	for i := range answers {
		wg.Go(func() { codes[i], answers[i] = get(t, srv.URL) })
	}
	wg.Wait()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("twenty checks took %s with a 300ms timeout", d)
	}
	for i, a := range answers {
		if codes[i] != 503 || !strings.HasPrefix(a, "cannot reach the node: ") || strings.Count(a, "\n") != 1 {
			t.Errorf("answer %d: %d %q, want 503 and one line \"cannot reach the node: …\"", i, codes[i], a)
		}
		if strings.Contains(a, password) {
			t.Errorf("answer %d shows the password: %q", i, a)
		}
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("twenty simultaneous checks opened %d connections to the node, want 1", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(logs.String(), password) {
		t.Errorf("the log shows the password:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "galera node is not usable") {
		t.Errorf("the log does not say the node is not usable:\n%s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestClosedPortIsUnreachable: nothing listening is a 503 at once, not a hang.
func TestClosedPortIsUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := galeracheck.New("root@tcp("+addr+")/", time.Second, galeracheck.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a := c.Check(context.Background())
	if a.Code != 503 || !strings.HasPrefix(a.Reason, "cannot reach the node: ") {
		t.Errorf("closed port: %d %q", a.Code, a.Reason)
	}
}

// TestBadDSNIsNotQuoted: a DSN the driver cannot parse is refused without repeating it.
func TestBadDSNIsNotQuoted(t *testing.T) {
	_, err := galeracheck.New("user:pw-secret@tcp(127.0.0.1:3306", time.Second, galeracheck.Options{}, nil)
	if err == nil || strings.Contains(err.Error(), "pw-secret") {
		t.Errorf("bad DSN: %v", err)
	}
}

// TestPlainServerIsNotAGaleraNode: a MariaDB server without Galera answers logins, which
// mysql-check would take for health; the check says 503 "not a Galera node". A wrong password
// is a 503 that says the node refused, without the password.
func TestPlainServerIsNotAGaleraNode(t *testing.T) {
	cfg := testenv.MySQLServer(t)
	c, err := galeracheck.New(cfg.FormatDSN(), 2*time.Second, galeracheck.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := httptest.NewServer(c)
	defer srv.Close()
	code, body := get(t, srv.URL)
	if code != 503 || !strings.HasPrefix(body, "not a Galera node") {
		t.Errorf("plain server: %d %q, want 503 \"not a Galera node …\"", code, body)
	}

	wrong := *cfg
	wrong.User, wrong.Passwd = "codemetrics_no_such_user", "wrong-password-xyz"
	c2, err := galeracheck.New(wrong.FormatDSN(), 2*time.Second, galeracheck.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	a := c2.Check(context.Background())
	if a.Code != 503 || !strings.HasPrefix(a.Reason, "the node refused the check: ") || strings.Contains(a.Reason, wrong.Passwd) {
		t.Errorf("wrong password: %d %q", a.Code, a.Reason)
	}
}
