// Package benchmark holds what CodeMetrics' benchmarks (make bench) need besides the product:
// the stateless-JWT baseline server, token seeding, and the report written to
// docs/benchmarks.md. Nothing here is built into bin/codemetrics.
package benchmark

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
)

// BareConfig is what the baseline's configuration handler returns; the same fields and values
// as CodeMetrics' GET /api/system/config.
type BareConfig struct {
	Version                string `json:"version"`
	DatabaseDriver         string `json:"databaseDriver"`
	ServiceTokenTTL        string `json:"serviceTokenTtl"`
	ServiceTokenTTLSeconds int64  `json:"serviceTokenTtlSeconds"`
	TokenIssuer            string `json:"tokenIssuer"`
	PublicURL              string `json:"publicUrl"`
	SessionTTL             string `json:"sessionTtl"`
	IdentityProvider       string `json:"identityProvider"`
}

// NewBareRouter is the baseline the authenticated throughput is compared with: the same gin
// engine settings, the same middleware work (request id, one JSON log line, recovery, security
// headers, cross-origin check) and the same handler as CodeMetrics, behind a bare stateless
// golang-jwt HS256 check: signature and registered claims only, no revocation, no last-used,
// no rate limit, no database.
func NewBareRouter(key []byte, issuer, publicURL string, log *slog.Logger, cfg BareConfig) (*gin.Engine, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	if err := r.SetTrustedProxies(nil); err != nil {
		return nil, err
	}
	cop := http.NewCrossOriginProtection()
	if err := cop.AddTrustedOrigin(strings.TrimRight(publicURL, "/")); err != nil {
		return nil, err
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(token.Audience),
		jwt.WithExpirationRequired(),
	)
	keyFunc := func(*jwt.Token) (any, error) { return key, nil }

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
			cl := v.(*token.Claims)
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
		claims := &token.Claims{}
		if ok && strings.EqualFold(scheme, "Bearer") {
			_, err := parser.ParseWithClaims(raw, claims, keyFunc)
			ok = err == nil && claims.TokenUse == token.UseService && claims.HasScope(token.ScopeMetricsRead)
		}
		if !ok {
			c.Header("WWW-Authenticate", "Bearer")
			c.Header("Content-Type", "application/problem+json")
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"type": "about:blank", "title": "Unauthorized", "status": 401})
			return
		}
		c.Set("claims", claims)
		c.Next()
	})
	api.GET("/system/config", func(c *gin.Context) { c.JSON(http.StatusOK, cfg) })
	return r, nil
}
