// Package bare is the baseline the authenticated throughput is compared with: the same gin
// engine settings, the same middleware work (request id, one JSON log line, recovery, security
// headers, cross-origin check) and the same handler as CodeMetrics' GET /api/system/config (the
// same bytes, encoded once), behind a bare stateless golang-jwt HS256 check: signature and
// registered claims only; no revocation, no last-used, no rate limit, no database.
package bare

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is what the baseline needs to know.
type Config struct {
	Key       []byte // TOKEN_SIGNING_KEY
	Issuer    string // TOKEN_ISSUER
	PublicURL string // PUBLIC_URL, for the cross-origin check
	// SystemConfig is the body CodeMetrics answers GET /api/system/config with.
	SystemConfig []byte
}

// Audience, token use and scope of a service token that may read metrics, as CodeMetrics
// issues them.
const (
	audience    = "codemetrics-api"
	useService  = "service"
	metricsRead = "metrics:read"
)

type claims struct {
	jwt.RegisteredClaims
	TokenUse string `json:"token_use"`
	Scope    string `json:"scope"`
}

func (c *claims) hasScope(s string) bool {
	for _, f := range strings.Fields(c.Scope) {
		if f == s {
			return true
		}
	}
	return false
}

// NewRouter is the baseline's handler.
func NewRouter(cfg Config, log *slog.Logger) (*gin.Engine, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	if err := r.SetTrustedProxies(nil); err != nil {
		return nil, err
	}
	cop := http.NewCrossOriginProtection()
	if err := cop.AddTrustedOrigin(strings.TrimRight(cfg.PublicURL, "/")); err != nil {
		return nil, err
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
	)
	keyFunc := func(*jwt.Token) (any, error) { return cfg.Key, nil }

	r.Use(func(c *gin.Context) { // request id and one log line, as CodeMetrics does
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id := hex.EncodeToString(b)
		c.Set("request_id", id)
		c.Header("X-Request-Id", id)
		l := log.With("request_id", id)
		start := time.Now()
		c.Next()
		attrs := []any{"method", c.Request.Method, "path", c.Request.URL.Path, "route", c.FullPath(),
			"status", c.Writer.Status(), "duration_ms", float64(time.Since(start).Microseconds()) / 1000, "client_ip", c.ClientIP()}
		if v, ok := c.Get("claims"); ok {
			cl := v.(*claims)
			attrs = append(attrs, "token_id", cl.ID, "subject", cl.Subject)
		}
		l.Log(c.Request.Context(), slog.LevelInfo, "request", attrs...)
	}, func(c *gin.Context) {
		defer func() {
			if p := recover(); p != nil {
				c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"title": "Internal Server Error"})
			}
		}()
		c.Next()
	}, func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		c.Next()
	}, func(c *gin.Context) {
		if err := cop.Check(c.Request); err != nil {
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"title": "Forbidden"})
			return
		}
		c.Next()
	})

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	api := r.Group("/api", func(c *gin.Context) {
		scheme, raw, ok := strings.Cut(c.GetHeader("Authorization"), " ")
		cl := &claims{}
		if ok && strings.EqualFold(scheme, "Bearer") {
			_, err := parser.ParseWithClaims(raw, cl, keyFunc)
			ok = err == nil && cl.TokenUse == useService && cl.hasScope(metricsRead)
		}
		if !ok {
			c.Header("WWW-Authenticate", "Bearer")
			c.Header("Content-Type", "application/problem+json")
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"type": "about:blank", "title": "Unauthorized", "status": 401})
			return
		}
		c.Set("claims", cl)
		c.Next()
	})
	api.GET("/system/config", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/json; charset=utf-8", cfg.SystemConfig)
	})
	return r, nil
}

// Serve serves h on addr, with the same server timeouts as CodeMetrics, and the process
// metrics (CPU time, resident memory) on metricsAddr, until ctx ends.
func Serve(ctx context.Context, addr, metricsAddr string, h http.Handler) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ms := &http.Server{Addr: metricsAddr, Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	hs := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 2)
	go func() { errc <- ms.ListenAndServe() }()
	go func() { errc <- hs.ListenAndServe() }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	_ = hs.Close()
	_ = ms.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
