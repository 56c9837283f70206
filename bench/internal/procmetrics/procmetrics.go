// Package procmetrics reads a process's CPU time and resident memory from the Prometheus
// metrics it exports (process_cpu_seconds_total and process_resident_memory_bytes, from
// client_golang's process collector), as a monitoring system would.
package procmetrics

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Process is one reading.
type Process struct {
	CPUSeconds float64 // user + system
	RSSBytes   float64
	At         time.Time
}

var client = &http.Client{Timeout: 5 * time.Second}

// Read scrapes the metrics at url (http://host:port/metrics or the listener's root).
func Read(ctx context.Context, url string) (Process, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Process{}, err
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := client.Do(req)
	if err != nil {
		return Process{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return Process{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return Parse(resp.Body)
}

// Sums scrapes the metrics at url and returns, for each of names, the sum of its series (every
// label set: codemetrics_http_requests_total over routes, methods and statuses); a family that
// is not there is 0.
func Sums(ctx context.Context, url string, names ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return ParseSums(resp.Body, names...)
}

// ParseSums is Sums on the Prometheus text format read from r.
func ParseSums(r io.Reader, names ...string) (map[string]float64, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	out := make(map[string]float64, len(names))
	for _, n := range names {
		for _, m := range fams[n].GetMetric() {
			out[n] += value(m)
		}
	}
	return out, nil
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

// Parse reads the two process metrics from the Prometheus text format.
func Parse(r io.Reader) (Process, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return Process{}, fmt.Errorf("metrics: %w", err)
	}
	var out Process
	out.At = time.Now()
	if out.CPUSeconds, err = single(fams, "process_cpu_seconds_total"); err != nil {
		return Process{}, err
	}
	if out.RSSBytes, err = single(fams, "process_resident_memory_bytes"); err != nil {
		return Process{}, err
	}
	return out, nil
}

func single(fams map[string]*dto.MetricFamily, name string) (float64, error) {
	f, ok := fams[name]
	if !ok || len(f.GetMetric()) != 1 {
		return 0, fmt.Errorf("metrics: no single %s (is the process collector registered?)", name)
	}
	m := f.GetMetric()[0]
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue(), nil
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue(), nil
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue(), nil
	}
	return 0, fmt.Errorf("metrics: %s is neither a counter nor a gauge", name)
}
