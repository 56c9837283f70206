// Package instance starts and stops the processes a benchmark measures: CodeMetrics' own binary
// and the bare-JWT baseline, each on a loopback port of its own with its metrics on another.
package instance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/codemetrics/codemetrics/bench/internal/procmetrics"
)

// Spec is a process to start: Path with Args, the environment of this process plus Env
// (KEY=VALUE; these win), its standard output and error in LogDir/Name.out and .log.
type Spec struct {
	Name   string
	Path   string
	Args   []string
	Env    []string
	LogDir string
}

// Process is a started server.
type Process struct {
	Name       string
	URL        string // http://127.0.0.1:PORT
	MetricsURL string // its metrics endpoint
	LogPath    string

	cmd    *exec.Cmd
	exited chan struct{}

	mu       sync.Mutex
	peakRSS  float64
	readings int
}

// Ports are the two loopback ports of a server: its HTTP port and its metrics port.
type Ports struct{ HTTP, Metrics int }

// FreePorts picks two free loopback ports.
func FreePorts() (Ports, error) {
	a, err := FreePort()
	if err != nil {
		return Ports{}, err
	}
	b, err := FreePort()
	return Ports{a, b}, err
}

// FreePort picks a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start starts the process of spec, serving on ports, and waits until /healthz answers 200.
func Start(ctx context.Context, spec Spec, ports Ports) (*Process, error) {
	p := &Process{
		Name:       spec.Name,
		URL:        "http://127.0.0.1:" + strconv.Itoa(ports.HTTP),
		MetricsURL: "http://127.0.0.1:" + strconv.Itoa(ports.Metrics) + "/metrics",
		LogPath:    filepath.Join(spec.LogDir, spec.Name+".log"),
		exited:     make(chan struct{}),
	}
	out, err := os.Create(filepath.Join(spec.LogDir, spec.Name+".out"))
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(p.LogPath)
	if err != nil {
		out.Close()
		return nil, err
	}
	p.cmd = exec.Command(spec.Path, spec.Args...)
	p.cmd.Env = append(os.Environ(), spec.Env...)
	p.cmd.Stdout, p.cmd.Stderr = out, logf
	if err := p.cmd.Start(); err != nil {
		out.Close()
		logf.Close()
		return nil, err
	}
	go func() {
		_ = p.cmd.Wait()
		out.Close()
		logf.Close()
		close(p.exited)
	}()
	if err := waitHealthy(ctx, p.URL+"/healthz", 20*time.Millisecond, p.exited); err != nil {
		p.Stop()
		tail, _ := os.ReadFile(p.LogPath)
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		return nil, fmt.Errorf("%s: %w; its log ends:\n%s", spec.Name, err, tail)
	}
	return p, nil
}

// waitHealthy polls url every interval until it answers 200, for at most 30 s, unless the
// process exits first.
func waitHealthy(ctx context.Context, url string, every time.Duration, exited <-chan struct{}) error {
	c := &http.Client{Timeout: 200 * time.Millisecond}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(every) {
		select {
		case <-exited:
			return errors.New("exited before answering")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New(url + " did not answer 200 within 30 s")
}

// Read takes a reading of the process's CPU time and resident memory from its metrics, and
// keeps the highest resident memory seen (PeakRSS).
func (p *Process) Read(ctx context.Context) (procmetrics.Process, error) {
	r, err := procmetrics.Read(ctx, p.MetricsURL)
	if err != nil {
		return r, fmt.Errorf("%s: %w", p.Name, err)
	}
	p.mu.Lock()
	p.peakRSS = max(p.peakRSS, r.RSSBytes)
	p.readings++
	p.mu.Unlock()
	return r, nil
}

// CPUSeconds is Read's CPU time, for load.Config.ServerCPU.
func (p *Process) CPUSeconds(ctx context.Context) (float64, error) {
	r, err := p.Read(ctx)
	return r.CPUSeconds, err
}

// PeakRSS is the highest resident memory of the readings so far, and how many there were.
func (p *Process) PeakRSS() (float64, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peakRSS, p.readings
}

// Stop ends the process with SIGTERM (SIGKILL after 30 s) and waits for it.
func (p *Process) Stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// TimeToHealthy starts path with env, measures the time from exec to the first 200 on url
// (polled every millisecond), and stops it.
func TimeToHealthy(ctx context.Context, path string, env []string, url string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, path)
	cmd.Env = append(os.Environ(), env...)
	exited := make(chan struct{})
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go func() { _ = cmd.Wait(); close(exited) }()
	err := waitHealthy(ctx, url, time.Millisecond, exited)
	took := time.Since(t0)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-exited
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return took, nil
}
