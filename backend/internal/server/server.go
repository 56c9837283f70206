// Package server assembles CodeMetrics from its configuration: database, services, router and
// background work. main uses it to serve; tests use it to start the whole server in-process.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/auth"
	"github.com/codemetrics/codemetrics/backend/internal/config"
	"github.com/codemetrics/codemetrics/backend/internal/httpapi"
	"github.com/codemetrics/codemetrics/backend/internal/metrics"
	"github.com/codemetrics/codemetrics/backend/internal/notify"
	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

// Options carry what does not come from the environment.
type Options struct {
	Log     *slog.Logger
	SPA     fs.FS
	Version string
	// Now is the clock; time.Now when nil. Tests move it.
	Now func() time.Time
	// Store options (tests and benchmarks count every statement at the driver).
	Store store.Options
	// WebhookTransport sends notification webhooks; nil for the default (tests may wrap it).
	WebhookTransport http.RoundTripper
}

// Server is a CodeMetrics instance.
type Server struct {
	Config   config.Config
	Store    *store.Store
	Keys     *token.Keyring
	Guard    *token.Guard
	Tokens   *token.Service
	Sessions *auth.Sessions
	SignIn   *auth.SignIn
	Audit    *audit.Log
	Pipeline *pipeline.Service
	Metrics  *metrics.Metrics
	// Notifier delivers expiry warnings and token events (RunOnce in tests).
	Notifier *notify.Notifier
	Handler  http.Handler
	log      *slog.Logger
}

// New opens and migrates the database, reads the revocation feed once and builds the router.
func New(ctx context.Context, cfg config.Config, opt Options) (*Server, error) {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if err := config.ResolveSigningKey(&cfg, opt.Log); err != nil {
		return nil, err
	}
	s := &Server{Config: cfg, log: opt.Log}
	if cfg.PublicURL != nil && cfg.PublicURL.Scheme == "https" && len(cfg.TrustedProxies) == 0 {
		// This server speaks plain HTTP, so https means something in front terminates TLS.
		opt.Log.Warn("PUBLIC_URL is https but TRUSTED_PROXIES is unset: if a reverse proxy or load balancer forwards to " +
			"this instance, list its address in TRUSTED_PROXIES, or every client has the proxy's address in rate limits and logs")
	}
	s.Metrics = metrics.New(func() time.Duration {
		if s.Guard == nil || s.Guard.SyncedAt().IsZero() {
			return 0
		}
		return opt.Now().Sub(s.Guard.SyncedAt())
	})
	storeOpt := opt.Store
	storeOpt.OnError = s.Metrics.DatabaseErrors.Inc
	if storeOpt.Queries == nil { // a test's own counter, or the server's
		storeOpt.Queries = new(atomic.Int64)
	}
	s.Metrics.CountStatements(storeOpt.Queries)
	if storeOpt.MaxConnections == 0 {
		storeOpt.MaxConnections = cfg.DatabaseMaxConnections
	}
	storeOpt.Log = opt.Log
	st, err := store.Open(cfg.DatabaseDriver, cfg.DatabaseDSN, storeOpt)
	if err != nil {
		return nil, err
	}
	// Before migrating: on a Galera node, the migrations' own reads are causal too.
	if err := detectCluster(ctx, st, cfg, opt.Log); err != nil {
		st.Close()
		return nil, err
	}
	if err := st.Migrate(ctx, opt.Log); err != nil {
		st.Close()
		return nil, err
	}
	s.Store = st
	s.Keys = token.NewKeyring(cfg.TokenIssuer, opt.Now, cfg.SigningKey, cfg.PreviousSigningKeys...)
	s.Guard = token.NewGuard(s.Keys, st, opt.Now, opt.Log, token.GuardOptions{
		MaxStaleness: cfg.RevocationMaxStaleness, RecheckInterval: cfg.TokenRecheckInterval, CacheSize: cfg.TokenCacheSize,
	})
	if err := s.Guard.Sync(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("read the revocation feed: %w", err)
	}
	s.Tokens = token.NewService(st, s.Keys, s.Guard, cfg.ServiceTokenTTL, opt.Now)
	s.Tokens.SetLifecycle(cfg.RotationGracePeriod, cfg.TokenHistoryRetention)
	s.Tokens.SetUsageRetention(cfg.UsageRetention)
	s.Tokens.SetStaleAfter(cfg.StaleAfter)
	s.Sessions = auth.NewSessions(st, s.Keys, cfg.CookieKey, cfg.SessionTTL, cfg.SessionIdleTimeout, opt.Now)
	s.Audit = audit.NewLog(st, opt.Now)
	s.Pipeline = pipeline.NewService(st, opt.Now, pipeline.Options{Retention: cfg.PipelineRunRetention})
	if s.Notifier, err = newNotifier(cfg, st, opt); err != nil {
		st.Close()
		return nil, err
	}
	if cfg.OIDCEnabled() {
		s.SignIn = auth.NewSignIn(auth.OIDCConfig{
			Issuer: cfg.OIDCIssuerURL, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
			RedirectURL: cfg.PublicURL.String() + "/auth/callback", GroupsClaim: cfg.OIDCGroupsClaim, Scopes: cfg.OIDCScopes,
			AdminEmails: cfg.AdminEmails, AdminGroups: cfg.AdminGroups,
			StateKey: cfg.CookieKey, Now: opt.Now,
		}, st, opt.Log)
	}
	s.Handler, err = httpapi.NewRouter(httpapi.Deps{
		Config: cfg, Tokens: s.Tokens, Guard: s.Guard, Sessions: s.Sessions, SignIn: s.SignIn, Audit: s.Audit, Pipeline: s.Pipeline, Metrics: s.Metrics,
		DB: st, Log: opt.Log, SPA: opt.SPA, Version: opt.Version, Now: opt.Now, Notifier: s.Notifier,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

// RunBackground reads the revocation feed and flushes last-use times until ctx ends. It
// returns a function that waits for the final flush.
func (s *Server) RunBackground(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		s.Guard.Run(ctx, s.Config.RevocationPollInterval, s.Config.UsageFlushInterval)
	})
	if s.SignIn != nil {
		wg.Go(func() { s.SignIn.KeepDiscovering(ctx) })
	}
	wg.Go(func() { s.Notifier.Run(ctx) })
	wg.Go(func() { s.backfillInBackground(ctx) })
	wg.Go(func() {
		t := time.NewTicker(PurgeInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.Purge(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("could not purge ended sessions", "err", err)
				}
				if _, err := s.PruneRuns(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("could not delete pipeline runs older than PIPELINE_RUN_RETENTION", "err", err)
				}
				if _, err := s.PurgeHistory(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("could not purge tokens that ended more than TOKEN_HISTORY_RETENTION ago", "err", err)
				}
				if _, err := s.Tokens.PurgeUsage(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("could not delete token usage older than USAGE_RETENTION", "err", err)
				}
			}
		}
	})
	return wg.Wait
}

// detectCluster finds out whether the database is a Galera cluster node and says in the log
// which guarantees are in force.
func detectCluster(ctx context.Context, st *store.Store, cfg config.Config, log *slog.Logger) error {
	c, err := st.DetectCluster(ctx)
	if err != nil {
		return fmt.Errorf("ask the database whether it is a cluster node: %w", err)
	}
	switch {
	case c.Galera:
		log.Info("the database is a Galera cluster node: every read waits for the node to apply what the cluster committed before it (wsrep_sync_wait=1), so a token, session or service user made through any node is recognised at once, and a node that falls behind makes this instance fail closed (service tokens 503 once the revocation feed is older than REVOCATION_MAX_STALENESS, /readyz not ready) instead of answering from stale data; write transactions are retried on certification conflicts",
			"cluster", c.Name, "node", c.Node, "cluster_size", c.Size, "node_state", c.State, "max_staleness", cfg.RevocationMaxStaleness.String())
		if c.State != "Synced" {
			log.Warn("this Galera node is not synced: reads wait until it is", "node_state", c.State)
		}
	case cfg.DatabaseDriver == store.MySQL:
		log.Info("the database is a single MySQL server (not a Galera cluster node): reads see every committed write")
	}
	return nil
}

// newNotifier builds the notifier of the configured destinations.
func newNotifier(cfg config.Config, st *store.Store, opt Options) (*notify.Notifier, error) {
	var emails []string
	if cfg.SMTP != nil {
		emails = cfg.NotifyEmails
	}
	n, err := notify.New(st, notify.Options{
		Webhooks: cfg.NotifyWebhookURLs, WebhookSecret: cfg.NotifyWebhookSecret, Email: cfg.SMTP, Emails: emails,
		PublicURL: cfg.PublicURL.String(), Version: opt.Version, Interval: cfg.NotifyCheckInterval, Now: opt.Now, Log: opt.Log,
		Transport: opt.WebhookTransport,
	})
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	if len(cfg.NotifyWebhookURLs) > 0 && len(cfg.NotifyWebhookSecret) == 0 {
		opt.Log.Warn("NOTIFY_WEBHOOK_SECRET is not set: webhook requests are not signed, so receivers cannot tell them from forgeries")
	}
	return n, nil
}

// PurgeInterval is how often ended sessions and expired sign-in states are deleted.
const PurgeInterval = 10 * time.Minute

// Purge deletes the sessions that have ended (expired or idle) and the used sign-in states
// that have expired, as the background loop does every PurgeInterval.
func (s *Server) Purge(ctx context.Context) error {
	n, err := s.Sessions.Purge(ctx)
	if n > 0 {
		s.log.Info("purged ended sessions", "sessions", n)
	}
	return err
}

// PruneRuns deletes the pipeline runs older than PIPELINE_RUN_RETENTION, in small batches, as
// the background loop does every PurgeInterval; their rollups stay.
func (s *Server) PruneRuns(ctx context.Context) (int, error) {
	n, err := s.Pipeline.PruneRuns(ctx)
	if n > 0 {
		s.log.Info("deleted pipeline runs older than PIPELINE_RUN_RETENTION (their daily rollups stay)", "runs", n, "retention", s.Config.PipelineRunRetention.String())
	}
	return n, err
}

// PurgeHistory deletes the tokens that stopped working more than TOKEN_HISTORY_RETENTION ago
// (200 at a time, one audit event per batch) and the notifications delivered or given up
// longer ago than that, as the background loop does every PurgeInterval. Instances may run it
// at once: each batch is one transaction, and a token deleted by one is not found by another.
func (s *Server) PurgeHistory(ctx context.Context) (int, error) {
	n, err := s.Tokens.PurgeHistory(ctx)
	if n > 0 {
		s.log.Info("purged tokens that ended more than TOKEN_HISTORY_RETENTION ago", "tokens", n, "retention", s.Config.TokenHistoryRetention.String())
	}
	return n, err
}

// BackfillRollups counts the runs recorded before the rollups existed, batch after batch, until
// none are left (tests; the server does it in the background, paced).
func (s *Server) BackfillRollups(ctx context.Context) error {
	for {
		done, _, err := s.Store.BackfillRollups(ctx, store.BackfillBatch)
		if err != nil || done {
			return err
		}
	}
}

// backfillInBackground counts the runs recorded before the rollups existed, a batch at a time,
// resting between batches as long as the batch took so that recording and queries go on
// meanwhile; after a failure it tries again a little later.
func (s *Server) backfillInBackground(ctx context.Context) {
	started, total := time.Now(), 0
	for ctx.Err() == nil {
		t0 := time.Now()
		done, n, err := s.Store.BackfillRollups(ctx, store.BackfillBatch)
		took := time.Since(t0)
		total += n
		pause := max(took, backfillMinPause)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("could not count earlier pipeline runs in the daily rollups; trying again", "err", err)
			pause = 10 * time.Second
		case done:
			if total > 0 {
				s.log.Info("counted the pipeline runs recorded before the daily rollups", "runs", total, "took", time.Since(started).Round(time.Millisecond).String())
			}
			return
		case total == n:
			s.log.Info("counting the pipeline runs recorded before the daily rollups, in the background: charts of earlier days fill in meanwhile")
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

// backfillMinPause is the shortest rest between two backfill batches: long enough for a
// writer waiting on SQLite's lock to get it.
const backfillMinPause = 50 * time.Millisecond

// HTTPServer returns an http.Server with every timeout set.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Addr:              s.Config.HTTPAddr,
		Handler:           s.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Serve listens until ctx ends, then shuts down gracefully: in-flight requests finish (within
// the grace period), background work flushes, the database closes.
func (s *Server) Serve(ctx context.Context, ready func(addr string)) error {
	hs := s.HTTPServer()
	ln, err := net.Listen("tcp", hs.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", hs.Addr, err)
	}
	var ms *http.Server
	if s.Config.MetricsAddr != "" {
		mln, err := net.Listen("tcp", s.Config.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen for metrics on %s (METRICS_ADDR; \"off\" turns metrics off): %w", s.Config.MetricsAddr, err)
		}
		ms = &http.Server{Handler: s.Metrics.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
		go func() { _ = ms.Serve(mln) }()
		s.log.Info("serving metrics", "addr", mln.Addr().String())
	}
	bgCtx, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	waitBG := s.RunBackground(bgCtx)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
		s.log.Info("shutting down: finishing requests in flight")
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = hs.Shutdown(sctx)
		cancel()
	}
	if ms != nil {
		_ = ms.Close()
	}
	stopBG()
	waitBG()
	if cerr := s.Store.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close releases the database (for tests that never Serve).
func (s *Server) Close() error { return s.Store.Close() }
