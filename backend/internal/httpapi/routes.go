// Package httpapi is CodeMetrics' HTTP layer: the gin router, thin handlers over the domain
// services, problem+json errors, authentication middleware and the embedded SPA.
package httpapi

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/auth"
	"github.com/codemetrics/codemetrics/backend/internal/config"
	"github.com/codemetrics/codemetrics/backend/internal/metrics"
	"github.com/codemetrics/codemetrics/backend/internal/notify"
	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"github.com/codemetrics/codemetrics/backend/internal/ratelimit"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/gin-gonic/gin"
)

// Pinger reports whether the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are what the HTTP layer is built from.
type Deps struct {
	Config   config.Config
	Tokens   *token.Service
	Guard    *token.Guard
	Sessions *auth.Sessions
	// SignIn is the OIDC sign-in; nil when no identity provider is configured.
	SignIn   *auth.SignIn
	Audit    *audit.Log
	Pipeline *pipeline.Service
	Metrics  *metrics.Metrics
	// Notifier delivers expiry warnings; it lists no destination when none is configured.
	Notifier *notify.Notifier
	DB       Pinger
	Log      *slog.Logger
	SPA      fs.FS
	Version  string
	Now      func() time.Time
}

type api struct {
	Deps
	log           *slog.Logger
	https         bool
	sessionCookie string
	cop           *http.CrossOriginProtection
	spa           *spa
	configJSON    []byte
	// tokenLimit limits each service token and each session's bearer tokens; authFailures
	// limits failed authentications and signIns failed sign-ins, both per client address.
	tokenLimit   *ratelimit.Limiter
	authFailures *ratelimit.Limiter
	signIns      *ratelimit.Limiter
	leakReports  *ratelimit.Limiter // leak reports, per client address
	// watchProxy: PUBLIC_URL is https and TRUSTED_PROXIES unset, so a proxy is likely and
	// unlisted; untrustedProxy is set once a request shows one.
	watchProxy     bool
	untrustedProxy atomic.Pointer[string]
}

// NewRouter returns the whole HTTP handler of CodeMetrics.
func NewRouter(d Deps) (*gin.Engine, error) {
	https := d.Config.PublicURL.Scheme == "https"
	a := &api{Deps: d, log: d.Log, https: https, sessionCookie: "codemetrics_session"}
	if https {
		// __Host-: only ever set by this host, over https, for the whole site.
		a.sessionCookie = "__Host-codemetrics_session"
	}
	a.configJSON = systemConfigJSON(d.Config, d.Version)
	a.tokenLimit = ratelimit.New(d.Config.RateLimitPerMinute, d.Now)
	a.authFailures = ratelimit.New(d.Config.AuthRateLimitPerMinute, d.Now)
	a.signIns = ratelimit.New(d.Config.AuthRateLimitPerMinute, d.Now)
	a.leakReports = newLeakLimiter(a)
	a.watchProxy = https && len(d.Config.TrustedProxies) == 0
	a.cop = http.NewCrossOriginProtection()
	if err := a.cop.AddTrustedOrigin(d.Config.PublicURL.Scheme + "://" + d.Config.PublicURL.Host); err != nil {
		return nil, err
	}
	var err error
	if a.spa, err = newSPA(d.SPA); err != nil {
		return nil, err
	}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Route on the path as sent, so that a workload or run id holding "/" can be one path
	// segment, encoded as %2F (DELETE /api/pipeline/runs/{workload}/{runId}); path values
	// are still decoded.
	r.UseRawPath = true
	r.ContextWithFallback = true
	// Only listed proxies may say who the client is; by default nobody may.
	if err := r.SetTrustedProxies(d.Config.TrustedProxies); err != nil {
		return nil, err
	}
	// And only through X-Forwarded-For: proxies that append to it often pass a client's own
	// X-Real-IP through untouched, and no platform header (TrustedPlatform) is believed.
	r.ForwardedByClientIP = true
	r.RemoteIPHeaders = []string{"X-Forwarded-For"}
	r.TrustedPlatform = ""
	r.Use(a.requestContext, a.recovery, a.securityHeaders, a.crossOrigin)

	r.GET("/healthz", a.healthz)
	r.GET("/readyz", a.readyz)

	authGroup := r.Group("/auth", a.authenticate, a.seen)
	authGroup.GET("/login", a.login)
	authGroup.GET("/callback", a.callback) // failed callbacks are limited per address
	authGroup.POST("/logout", a.logout)

	r.GET("/api/openapi.json", a.openAPI)
	// Unauthenticated on purpose, outside the group: a secret scanner has no credential, and a
	// reported token in an Authorization header must not be judged before it is revoked.
	r.POST("/api/tokens/report-leak", a.reportLeak)

	apiGroup := r.Group("/api", a.authenticate, a.seen)
	apiGroup.GET("/auth/me", a.requireSession, a.me)
	apiGroup.POST("/auth/session-token", a.requireAdmin, a.sessionToken)

	apiGroup.POST("/tokens", a.requireAdmin, a.createToken)
	apiGroup.GET("/tokens", a.requireAdmin, a.listTokens)
	apiGroup.GET("/tokens/export", a.requireAdmin, a.exportTokens)
	apiGroup.POST("/tokens/revoke", a.requireAdmin, a.revokeTokens)
	apiGroup.GET("/tokens/self", a.tokenSelf)
	apiGroup.POST("/tokens/identify", a.requireAdmin, a.identifyToken)
	apiGroup.POST("/tokens/self/rotate", a.requireScope(token.ScopeTokensRotate), a.rotateSelf)
	apiGroup.GET("/tokens/:tokenId", a.requireAdmin, a.getToken)
	apiGroup.GET("/tokens/:tokenId/usage", a.requireAdmin, a.tokenUsage)
	apiGroup.DELETE("/tokens/:tokenId", a.requireAdmin, a.revokeToken)
	apiGroup.POST("/tokens/:tokenId/rotate", a.requireAdmin, a.rotateToken)

	apiGroup.POST("/service-users", a.requireAdmin, a.createServiceUser)
	apiGroup.GET("/service-users", a.requireAdmin, a.listServiceUsers)
	apiGroup.GET("/service-users/:serviceUserId", a.requireAdmin, a.getServiceUser)
	apiGroup.PATCH("/service-users/:serviceUserId", a.requireAdmin, a.patchServiceUser)
	apiGroup.DELETE("/service-users/:serviceUserId", a.requireAdmin, a.deleteServiceUser)

	apiGroup.GET("/audit-events", a.requireAdmin, a.listAuditEvents)
	apiGroup.GET("/notifications/destinations", a.requireAdmin, a.notificationDestinations)
	apiGroup.POST("/notifications/test", a.requireAdmin, a.sendTestNotification)
	apiGroup.GET("/notifications/deliveries", a.requireAdmin, a.listDeliveries)
	apiGroup.GET("/admin/access", a.requireAdmin, a.access)
	apiGroup.GET("/admin/sessions", a.requireAdmin, a.listSessions)
	apiGroup.DELETE("/admin/sessions", a.requireAdmin, a.endSessionsOf)
	apiGroup.DELETE("/admin/sessions/:sessionId", a.requireAdmin, a.endSession)

	apiGroup.GET("/system/config", a.requireScope(token.ScopeMetricsRead), a.systemConfig)
	apiGroup.POST("/query", a.requireScope(token.ScopeMetricsRead), a.query)
	apiGroup.GET("/workloads", a.requireScope(token.ScopeMetricsRead), a.listWorkloads)
	apiGroup.GET("/pipeline/runs", a.requireScope(token.ScopeMetricsRead), a.listRuns)
	apiGroup.POST("/pipeline/runs", a.requireScope(token.ScopePipelineWrite), a.recordRun)
	apiGroup.POST("/pipeline/runs/batch", a.requireScope(token.ScopePipelineWrite), a.recordRunBatch)
	apiGroup.DELETE("/pipeline/runs/:workload/:runId", a.requireAdmin, a.deleteRun)

	r.NoRoute(a.noRoute)
	r.NoMethod(methodNotAllowed)
	return r, nil
}

func (a *api) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz is ready when the database answers and the revocation feed is fresh.
func (a *api) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	dbOK := a.DB.Ping(ctx) == nil
	feedOK := a.Guard.Fresh()
	body := gin.H{"database": okText(dbOK), "revocationFeed": okText(feedOK)}
	if synced := a.Guard.SyncedAt(); !synced.IsZero() {
		body["revocationFeedAge"] = a.Now().Sub(synced).Round(time.Millisecond).String()
	}
	// A database restored or failed over: the feed was found replaced and read again.
	resets, lastReset := a.Guard.FeedResets()
	body["revocationFeedResets"] = resets
	if resets > 0 {
		body["revocationFeedLastReset"] = lastReset.UTC().Format(time.RFC3339)
	}
	if msg := a.untrustedProxy.Load(); msg != nil { // a warning: the instance is still ready
		body["proxy"] = *msg
	}
	status := http.StatusOK
	body["status"] = "ready"
	if !dbOK || !feedOK {
		status = http.StatusServiceUnavailable
		body["status"] = "not ready"
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, body)
}

func okText(ok bool) string {
	if ok {
		return "ok"
	}
	return "unavailable"
}

// noRoute answers unknown API paths with a JSON 404 and everything else with the SPA.
func (a *api) noRoute(c *gin.Context) {
	p := c.Request.URL.Path
	if p == "/metrics" {
		fail(c, apperr.New(apperr.RouteNotFound, "metrics are served on METRICS_ADDR, not on this port"))
		return
	}
	if p == "/api" || p == "/auth" || strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/auth/") {
		fail(c, apperr.New(apperr.RouteNotFound, "no such endpoint: %s %s", methodLabel(c.Request.Method), p))
		return
	}
	a.spa.serve(c)
}
