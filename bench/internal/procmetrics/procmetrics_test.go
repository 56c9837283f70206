package procmetrics

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// TestReadsTheProcessCollector reads this process's own figures as CodeMetrics serves them:
// a registry with client_golang's process collector behind promhttp.
func TestReadsTheProcessCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	p, err := Read(context.Background(), srv.URL+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if p.CPUSeconds < 0 || p.RSSBytes < 1<<20 { // a test process may not have used 10 ms (one tick) of CPU yet
		t.Fatalf("implausible reading: %+v", p)
	}
}

func TestParseNeedsBothMetrics(t *testing.T) {
	p, err := Parse(strings.NewReader("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.5\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 2.5e+07\n"))
	if err != nil || p.CPUSeconds != 12.5 || p.RSSBytes != 25e6 {
		t.Fatalf("Parse: %+v, %v", p, err)
	}
	if _, err := Parse(strings.NewReader("# TYPE go_goroutines gauge\ngo_goroutines 7\n")); err == nil || !strings.Contains(err.Error(), "process collector") {
		t.Fatalf("without the process collector: %v", err)
	}
}

// TestParseSumsAddsEveryLabelSet: a counter with labels is summed over its series, and a family
// the server does not export is 0, not an error.
func TestParseSumsAddsEveryLabelSet(t *testing.T) {
	text := "# TYPE codemetrics_http_requests_total counter\n" +
		`codemetrics_http_requests_total{method="GET",route="/healthz",status="200"} 3` + "\n" +
		`codemetrics_http_requests_total{method="GET",route="/api/system/config",status="401"} 4.5` + "\n" +
		"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 2\n"
	got, err := ParseSums(strings.NewReader(text), "codemetrics_http_requests_total", "process_cpu_seconds_total", "absent_total")
	if err != nil {
		t.Fatal(err)
	}
	if got["codemetrics_http_requests_total"] != 7.5 || got["process_cpu_seconds_total"] != 2 || got["absent_total"] != 0 {
		t.Fatalf("ParseSums: %v", got)
	}
}
