package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// freePort is an address nothing listens on at the moment.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestGaleraCheckCommand: galera-check needs a node (flag or GALERA_CHECK_DSN) and a sane
// timeout, never repeats a DSN it refuses, and serves checks until stopped: a node that cannot
// be reached is a 503 saying so.
func TestGaleraCheckCommand(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"galera-check"}, nil, "give the node's DSN"},
		{[]string{"galera-check", "--node", "root@tcp(127.0.0.1:1)/", "--timeout", "soon"}, nil, "--timeout"},
		{[]string{"galera-check", "extra"}, map[string]string{"GALERA_CHECK_DSN": "root@tcp(127.0.0.1:1)/"}, "takes no arguments"},
	} {
		code, _, stderr := runCLI(t, c.env, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	code, _, stderr := runCLI(t, map[string]string{"GALERA_CHECK_DSN": "check:pw-secret@tcp(127.0.0.1:1"}, "galera-check")
	if code != 1 || strings.Contains(stderr, "pw-secret") {
		t.Errorf("bad DSN: exit %d, stderr %q", code, stderr)
	}

	listen, node := freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderrb bytes.Buffer
	done := make(chan int)
	env := map[string]string{"GALERA_CHECK_DSN": "check:pw-secret@tcp(" + node + ")/", "GALERA_CHECK_LISTEN": listen}
	go func() {
		done <- run(ctx, []string{"galera-check", "--timeout", "500ms"}, func(k string) string { return env[k] }, &stdout, &stderrb)
	}()
	deadline := time.Now().Add(5 * time.Second)
	var status int
	var body string
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + listen + "/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			status, body = resp.StatusCode, string(b)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("galera-check exited %d after being stopped: %s", code, stderrb.String())
	}
	if status != 503 || !strings.HasPrefix(body, "cannot reach the node: ") {
		t.Errorf("unreachable node: %d %q", status, body)
	}
	if !strings.Contains(stdout.String(), "galera-check for "+node+" is listening on "+listen) {
		t.Errorf("stdout %q", stdout.String())
	}
	if strings.Contains(stdout.String()+stderrb.String(), "pw-secret") {
		t.Errorf("the password is in the output: %s %s", stdout.String(), stderrb.String())
	}
}
