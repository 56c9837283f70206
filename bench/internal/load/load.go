// Package load drives HTTP load with vegeta (github.com/tsenart/vegeta) and reduces its results
// to the figures of the report: requests per second, latency percentiles, answers by status,
// and the CPU time per request of the server (from its Prometheus process metrics) and of the
// load generator itself.
package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Config is one load run against one target.
type Config struct {
	// Targeter makes each request; Target is the shorthand for one fixed request.
	Targeter vegeta.Targeter
	Target   vegeta.Target
	// Conns is the number of keep-alive connections (and, in a closed loop, of requests in
	// flight).
	Conns int
	// Rate, when above 0, is an open loop: this many requests per second in all, whether or
	// not earlier answers have come. A request waiting for one of the Conns connections is
	// already timed, so time spent queueing counts (no coordinated omission). 0 is a closed
	// loop: each of Conns workers sends its next request as soon as its last answer is read.
	Rate float64
	// Duration measures for this long; Requests, when above 0, stops after this many measured
	// requests instead.
	Duration time.Duration
	Requests uint64
	// Warmup sends requests at the same pace for this long first, on the same connections,
	// and does not count them.
	Warmup time.Duration
	// KeepBodies reads whole answers and reports their size; otherwise bodies are drained
	// without being kept.
	KeepBodies bool
	// ServerCPU, when set, reads the server's CPU seconds before and after the measured part.
	ServerCPU func(context.Context) (float64, error)
	// During, when set, runs alongside the measured part (with its start time), for readings
	// in the middle of a load.
	During func(ctx context.Context, start time.Time)
}

// Result is what one run measured.
type Result struct {
	Seconds    float64          `json:"seconds"`
	Requests   uint64           `json:"requests"`
	RPS        float64          `json:"rps"`
	P50Ms      float64          `json:"p50Ms"`
	P90Ms      float64          `json:"p90Ms"`
	P99Ms      float64          `json:"p99Ms"`
	MaxMs      float64          `json:"maxMs"`
	Statuses   map[string]int64 `json:"statuses"` // by HTTP status; transport errors are not here
	Errors     int64            `json:"errors"`   // requests that got no answer
	FirstError string           `json:"firstError,omitempty"`
	// BodyBytes is the mean answer size (with KeepBodies).
	BodyBytes float64 `json:"bodyBytesPerResponse,omitempty"`
	// CPU time per measured request, in µs: the server's (ServerCPU) and the load generator's.
	ServerCPUUs float64 `json:"serverCpuUsPerRequest,omitempty"`
	ClientCPUUs float64 `json:"clientCpuUsPerRequest,omitempty"`
}

// NotOK counts the answers that are not 2xx, and requests without an answer.
func (r Result) NotOK() int64 {
	n := r.Errors
	for s, c := range r.Statuses {
		if len(s) != 3 || s[0] != '2' {
			n += c
		}
	}
	return n
}

// Client is an HTTP client for conns keep-alive connections to one host, as a load generator
// should have: no compression asked for, no proxy, connections capped at conns.
func Client(conns int) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			DisableCompression:  true,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Attacker is a vegeta attacker on client. In a closed loop exactly conns workers run; in an
// open loop vegeta adds workers as requests fall due, and they queue for the connections.
func Attacker(client *http.Client, conns int, open, keepBodies bool) *vegeta.Attacker {
	opts := []func(*vegeta.Attacker){vegeta.Client(client), vegeta.Workers(uint64(conns))}
	if !open {
		opts = append(opts, vegeta.MaxWorkers(uint64(conns)))
	}
	if !keepBodies {
		opts = append(opts, vegeta.MaxBody(0))
	}
	return vegeta.NewAttacker(opts...)
}

// Run runs one load and measures it.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Conns <= 0 {
		cfg.Conns = 1
	}
	if cfg.Duration <= 0 && cfg.Requests == 0 {
		return Result{}, errors.New("load: give a duration or a number of requests")
	}
	tr := cfg.Targeter
	if tr == nil {
		tr = vegeta.NewStaticTargeter(cfg.Target)
	}
	client := Client(cfg.Conns)
	defer client.CloseIdleConnections()
	open := cfg.Rate > 0
	pace := func(n uint64) vegeta.Pacer {
		if open {
			return limited{vegeta.ConstantPacer{Freq: int(cfg.Rate), Per: time.Second}, n}
		}
		return ClosedLoop(n)
	}
	if cfg.Warmup > 0 {
		for range Attacker(client, cfg.Conns, open, cfg.KeepBodies).Attack(tr, pace(0), cfg.Warmup, "") {
			if ctx.Err() != nil {
				return Result{}, ctx.Err()
			}
		}
	}

	var cpu0 float64
	if cfg.ServerCPU != nil {
		var err error
		if cpu0, err = cfg.ServerCPU(ctx); err != nil {
			return Result{}, fmt.Errorf("server CPU: %w", err)
		}
	}
	self0 := selfCPU()
	atk := Attacker(client, cfg.Conns, open, cfg.KeepBodies)
	start := time.Now()
	duringDone := make(chan struct{})
	dctx, stopDuring := context.WithCancel(ctx)
	go func() {
		defer close(duringDone)
		if cfg.During != nil {
			cfg.During(dctx, start)
		}
	}()
	var m vegeta.Metrics
	res := Result{Statuses: map[string]int64{}}
	for r := range atk.Attack(tr, pace(cfg.Requests), cfg.Duration, "") {
		if ctx.Err() != nil {
			atk.Stop()
		}
		m.Add(r)
		if r.Error != "" && r.Code == 0 {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = r.Error
			}
			continue
		}
		res.Statuses[strconv.Itoa(int(r.Code))]++
	}
	elapsed := time.Since(start)
	self1 := selfCPU()
	stopDuring()
	<-duringDone
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}
	m.Close()

	res.Seconds = elapsed.Seconds()
	res.Requests = m.Requests
	res.RPS = float64(m.Requests) / res.Seconds
	res.P50Ms, res.P90Ms, res.P99Ms = ms(m.Latencies.P50), ms(m.Latencies.P90), ms(m.Latencies.P99)
	res.MaxMs = ms(m.Latencies.Max)
	if cfg.KeepBodies {
		res.BodyBytes = m.BytesIn.Mean
	}
	if m.Requests > 0 {
		res.ClientCPUUs = (self1 - self0).Seconds() * 1e6 / float64(m.Requests)
		if cfg.ServerCPU != nil {
			cpu1, err := cfg.ServerCPU(ctx)
			if err != nil {
				return Result{}, fmt.Errorf("server CPU: %w", err)
			}
			res.ServerCPUUs = (cpu1 - cpu0) * 1e6 / float64(m.Requests)
		}
	}
	return res, nil
}

// ClosedLoop paces a closed loop: no wait between requests (the workers' own answers pace
// them), and a stop after max requests when max is above 0.
func ClosedLoop(max uint64) vegeta.Pacer { return closedLoop{max: max} }

type closedLoop struct{ max uint64 }

func (p closedLoop) Pace(_ time.Duration, hits uint64) (time.Duration, bool) {
	return 0, p.max > 0 && hits >= p.max
}

func (closedLoop) Rate(time.Duration) float64 { return 0 }

// limited stops a pacer after max requests when max is above 0.
type limited struct {
	vegeta.Pacer
	max uint64
}

func (p limited) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if p.max > 0 && hits >= p.max {
		return 0, true
	}
	return p.Pacer.Pace(elapsed, hits)
}

// selfCPU is the user and system time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
