// Package metrics holds CodeMetrics' Prometheus metrics, served on their own listen address
// (METRICS_ADDR), never on the public port.
package metrics

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the collectors the rest of the server updates.
type Metrics struct {
	registry *prometheus.Registry

	Requests       *prometheus.CounterVec   // by route, method and status
	Latency        *prometheus.HistogramVec // by route
	AuthFailures   *prometheus.CounterVec   // by reason
	TokensIssued   prometheus.Counter
	TokensRevoked  prometheus.Counter
	DatabaseErrors prometheus.Counter
	RateLimited    *prometheus.CounterVec // by limit
}

// New registers every collector; feedAge reports the age of the last revocation-feed read.
func New(feedAge func() time.Duration) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		registry: r,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "codemetrics_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "codemetrics_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		AuthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "codemetrics_auth_failures_total", Help: "Refused authentications by reason.",
		}, []string{"reason"}),
		TokensIssued:   prometheus.NewCounter(prometheus.CounterOpts{Name: "codemetrics_tokens_issued_total", Help: "Service tokens issued."}),
		TokensRevoked:  prometheus.NewCounter(prometheus.CounterOpts{Name: "codemetrics_tokens_revoked_total", Help: "Service tokens revoked."}),
		DatabaseErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "codemetrics_database_errors_total", Help: "Database operations that failed."}),
		RateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "codemetrics_rate_limited_total", Help: "Requests refused with 429, by limit.",
		}, []string{"limit"}),
	}
	r.MustRegister(m.Requests, m.Latency, m.AuthFailures, m.TokensIssued, m.TokensRevoked, m.DatabaseErrors, m.RateLimited,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "codemetrics_revocation_feed_age_seconds",
			Help: "Seconds since the revocation feed was last read; service tokens fail closed past the configured bound.",
		}, func() float64 { return feedAge().Seconds() }),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// CountStatements exports n, the statements the store sent the database, as
// codemetrics_database_statements_total: what an instance costs its database (docs/scaling.md).
func (m *Metrics) CountStatements(n *atomic.Int64) {
	m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "codemetrics_database_statements_total",
		Help: "Statements sent to the database (queries, writes, transaction commands), background loops included.",
	}, func() float64 { return float64(n.Load()) }))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}
