// Command loadgen is CodeMetrics' HTTP load generator for the benchmarks (make bench). It keeps
// N connections alive against one URL and reports requests per second, latency percentiles and
// answers by status; it needs nothing but the standard library and runs on loopback.
//
//	loadgen [-c 16] [-d 5s] [-n 0] [-warmup 1s] [-H 'Authorization: Bearer …'] [-pid PID] [-json] URL
//	loadgen revocation -a URL_A -b URL_B -path /api/system/config -token T -token-id ID -admin S
//
// The revocation mode loads instance A and instance B with one token, revokes it through A
// (DELETE /api/tokens/{id} with an administrator's session token) and reports how many requests
// on A that began after the DELETE returned still succeeded (should be 0) and how long B took
// to refuse the token.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	args := os.Args[1:]
	var err error
	if len(args) > 0 && args[0] == "revocation" {
		err = revocationMain(args[1:], os.Stdout)
	} else {
		err = loadMain(args, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// headerList is a repeatable -H flag.
type headerList []string

func (h *headerList) String() string     { return strings.Join(*h, ", ") }
func (h *headerList) Set(v string) error { *h = append(*h, v); return nil }

// tagList is a repeatable -tag key=value flag copied into the JSON result.
type tagList map[string]string

func (t tagList) String() string { return fmt.Sprint(map[string]string(t)) }
func (t tagList) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("want key=value")
	}
	t[k] = val
	return nil
}

// LoadConfig describes one load run.
type LoadConfig struct {
	URL      string
	Method   string
	Headers  []string
	Conns    int
	Duration time.Duration // 0: until Requests are done
	Requests int64         // 0: until Duration is over
	Warmup   time.Duration // requests in the warm-up are sent but not counted
	// Rate, when above 0, is an open-loop load: requests are due at this many per second in
	// all, spread evenly over the connections, whether or not earlier answers have come.
	// Latency is then counted from when a request was due, so time spent waiting for a busy
	// connection counts too (no coordinated omission). 0 is a closed loop: each connection
	// sends its next request as soon as the answer to the last one is read.
	Rate        float64
	PID         int // when set, the server's CPU time per request is read from /proc
	DialTimeout time.Duration
}

// Result is what a load run measured.
type Result struct {
	Tags            map[string]string `json:"tags,omitempty"`
	URL             string            `json:"url"`
	Conns           int               `json:"conns"`
	Seconds         float64           `json:"seconds"`
	Requests        int64             `json:"requests"`
	RPS             float64           `json:"rps"`
	P50ms           float64           `json:"p50Ms"`
	P90ms           float64           `json:"p90Ms"`
	P99ms           float64           `json:"p99Ms"`
	MaxMs           float64           `json:"maxMs"`
	Statuses        map[string]int64  `json:"statuses"`
	Errors          int64             `json:"errors"`
	FirstError      string            `json:"firstError,omitempty"`
	BodyBytes       float64           `json:"bodyBytesPerResponse"`
	ServerCPUusPerR float64           `json:"serverCpuUsPerRequest,omitempty"`
	ClientCPUusPerR float64           `json:"clientCpuUsPerRequest,omitempty"` // the load generator's own
}

// OK counts 2xx answers.
func (r Result) OK() int64 {
	var n int64
	for s, c := range r.Statuses {
		if strings.HasPrefix(s, "2") {
			n += c
		}
	}
	return n
}

func loadMain(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	var cfg LoadConfig
	var headers headerList
	tags := tagList{}
	fs.IntVar(&cfg.Conns, "c", 16, "concurrent keep-alive connections")
	fs.DurationVar(&cfg.Duration, "d", 5*time.Second, "how long to measure (0: until -n requests)")
	fs.Int64Var(&cfg.Requests, "n", 0, "stop after this many measured requests (0: no limit)")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "warm-up before measuring")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop: requests per second in all, latency from when each was due (0: closed loop)")
	fs.StringVar(&cfg.Method, "X", http.MethodGet, "request method")
	fs.Var(&headers, "H", "a request header 'Name: value' (repeatable)")
	fs.IntVar(&cfg.PID, "pid", 0, "server process id: report its CPU time per request (Linux)")
	fs.Var(tags, "tag", "key=value copied into the JSON result (repeatable)")
	asJSON := fs.Bool("json", false, "print the result as one JSON line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("give exactly one URL")
	}
	if cfg.Duration <= 0 && cfg.Requests <= 0 {
		return errors.New("give -d or -n")
	}
	cfg.URL, cfg.Headers = fs.Arg(0), headers
	res, err := Run(context.Background(), cfg)
	if err != nil {
		return err
	}
	if len(tags) > 0 {
		res.Tags = tags
	}
	if *asJSON {
		fmt.Fprintf(os.Stderr, "  %v: %.0f req/s, p50 %.3f ms, p99 %.3f ms, server CPU %.1f µs/req, statuses %v, errors %d\n",
			map[string]string(tags), res.RPS, res.P50ms, res.P99ms, res.ServerCPUusPerR, res.Statuses, res.Errors)
		return json.NewEncoder(out).Encode(res)
	}
	fmt.Fprintf(out, "%s  %d conns  %.1fs\n  %.0f req/s  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms\n  statuses %v  errors %d  body %.0f B/response\n",
		res.URL, res.Conns, res.Seconds, res.RPS, res.P50ms, res.P90ms, res.P99ms, res.MaxMs, res.Statuses, res.Errors, res.BodyBytes)
	if res.ServerCPUusPerR > 0 {
		fmt.Fprintf(out, "  server CPU %.1f µs/request\n", res.ServerCPUusPerR)
	}
	if res.FirstError != "" {
		fmt.Fprintf(out, "  first error: %s\n", res.FirstError)
	}
	return nil
}

// target is a parsed URL with its request bytes prebuilt.
type target struct {
	addr string
	req  []byte
}

func newTarget(rawURL, method string, headers []string) (*target, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("%s: only http:// URLs", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: codemetrics-loadgen\r\n", method, u.RequestURI(), u.Host)
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			return nil, fmt.Errorf("header %q: want 'Name: value'", h)
		}
		fmt.Fprintf(&b, "%s: %s\r\n", strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if method != http.MethodGet && method != http.MethodHead {
		b.WriteString("Content-Length: 0\r\n")
	}
	b.WriteString("\r\n")
	return &target{addr: addr, req: []byte(b.String())}, nil
}

// client is one keep-alive connection; it redials after an error or a Connection: close.
type client struct {
	t    *target
	conn net.Conn
	br   *bufio.Reader
}

// do sends the request once and reads the whole answer.
func (c *client) do() (status int, body int64, err error) {
	if c.conn == nil {
		if err := c.dial(); err != nil {
			return 0, 0, err
		}
	}
	if _, err := c.conn.Write(c.t.req); err != nil {
		c.close()
		return 0, 0, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return 0, 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		c.close()
		return 0, 0, err
	}
	if resp.Close {
		c.close()
	}
	return resp.StatusCode, n, nil
}

func (c *client) dial() error {
	conn, err := net.DialTimeout("tcp", c.t.addr, 5*time.Second)
	if err != nil {
		return err
	}
	c.conn = conn
	if c.br == nil {
		c.br = bufio.NewReaderSize(conn, 32<<10)
	} else {
		c.br.Reset(conn)
	}
	return nil
}

func (c *client) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

type workerStats struct {
	lat      []int64 // nanoseconds
	statuses map[int]int64
	errors   int64
	firstErr error
	bytes    int64
}

// Run runs one load and measures it.
func Run(ctx context.Context, cfg LoadConfig) (Result, error) {
	if cfg.Conns <= 0 {
		cfg.Conns = 1
	}
	if cfg.Method == "" {
		cfg.Method = http.MethodGet
	}
	t, err := newTarget(cfg.URL, cfg.Method, cfg.Headers)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	measureFrom := start.Add(cfg.Warmup)
	var deadline time.Time
	if cfg.Duration > 0 {
		deadline = measureFrom.Add(cfg.Duration)
	}
	var counted atomic.Int64
	var stop atomic.Bool
	stats := make([]*workerStats, cfg.Conns)
	var wg sync.WaitGroup
	var cpuStart float64
	var cpuErr error
	var selfStart float64
	var selfErr error
	cpuDone := make(chan struct{})
	go func() { // read the server's CPU time when measuring starts
		defer close(cpuDone)
		if cfg.PID > 0 {
			time.Sleep(time.Until(measureFrom))
			cpuStart, cpuErr = processCPUSeconds(cfg.PID)
			selfStart, selfErr = processCPUSeconds(os.Getpid())
		}
	}()
	// Open loop: connection i's requests are due every interval, staggered by i/Conns of one.
	var interval time.Duration
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(cfg.Conns) / cfg.Rate)
	}
	for i := range cfg.Conns {
		ws := &workerStats{statuses: map[int]int64{}, lat: make([]int64, 0, 4096)}
		stats[i] = ws
		wg.Go(func() {
			c := &client{t: t}
			defer c.close()
			due := start.Add(interval * time.Duration(i) / time.Duration(cfg.Conns))
			for !stop.Load() && ctx.Err() == nil {
				t0 := time.Now()
				if interval > 0 {
					if wait := due.Sub(t0); wait > 0 {
						time.Sleep(wait)
					}
					t0, due = due, due.Add(interval)
				}
				if !deadline.IsZero() && !t0.Before(deadline) {
					break
				}
				measuring := !t0.Before(measureFrom)
				if measuring && cfg.Requests > 0 && counted.Add(1) > cfg.Requests {
					stop.Store(true)
					break
				}
				status, n, err := c.do()
				if !measuring {
					if err != nil {
						time.Sleep(time.Millisecond)
					}
					continue
				}
				if err != nil {
					ws.errors++
					if ws.firstErr == nil {
						ws.firstErr = err
					}
					time.Sleep(time.Millisecond) // do not spin on a dead server
					continue
				}
				ws.lat = append(ws.lat, int64(time.Since(t0)))
				ws.statuses[status]++
				ws.bytes += n
			}
		})
	}
	wg.Wait()
	end := time.Now()
	<-cpuDone
	res := Result{URL: cfg.URL, Conns: cfg.Conns, Statuses: map[string]int64{}}
	var all []int64
	for _, ws := range stats {
		all = append(all, ws.lat...)
		for s, n := range ws.statuses {
			res.Statuses[strconv.Itoa(s)] += n
		}
		res.Errors += ws.errors
		res.BodyBytes += float64(ws.bytes)
		if ws.firstErr != nil && res.FirstError == "" {
			res.FirstError = ws.firstErr.Error()
		}
	}
	elapsed := end.Sub(measureFrom)
	if elapsed <= 0 {
		elapsed = time.Nanosecond
	}
	res.Seconds = elapsed.Seconds()
	res.Requests = int64(len(all))
	res.RPS = float64(res.Requests) / res.Seconds
	if res.Requests > 0 {
		res.BodyBytes /= float64(res.Requests)
	}
	slices.Sort(all)
	res.P50ms, res.P90ms, res.P99ms = percentileMs(all, 50), percentileMs(all, 90), percentileMs(all, 99)
	if len(all) > 0 {
		res.MaxMs = float64(all[len(all)-1]) / 1e6
	}
	if cfg.PID > 0 && cpuErr == nil && res.Requests > 0 {
		if cpuEnd, err := processCPUSeconds(cfg.PID); err == nil {
			res.ServerCPUusPerR = (cpuEnd - cpuStart) * 1e6 / float64(res.Requests)
		}
		if selfEnd, err := processCPUSeconds(os.Getpid()); err == nil && selfErr == nil {
			res.ClientCPUusPerR = (selfEnd - selfStart) * 1e6 / float64(res.Requests)
		}
	}
	return res, nil
}

// percentileMs is the nearest-rank percentile of sorted nanosecond samples, in milliseconds.
func percentileMs(sorted []int64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.9999999) - 1
	rank = min(max(rank, 0), len(sorted)-1)
	return float64(sorted[rank]) / 1e6
}

// processCPUSeconds is the user + system CPU time of a process, from /proc/PID/stat.
func processCPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name may contain spaces; the fields after it are fixed.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat format")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc stat format")
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unexpected /proc stat format")
	}
	const clockTicks = 100 // USER_HZ on Linux
	return (utime + stime) / clockTicks, nil
}
