package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/ratelimit"
	"github.com/gin-gonic/gin"
)

// Context keys.
const (
	ctxRequestID   = "codemetrics.request_id"
	ctxLogger      = "codemetrics.logger"
	ctxPrincipal   = "codemetrics.principal"
	ctxAuthFailure = "codemetrics.auth_failure" // the reason of a refused authentication
	ctxReason      = "codemetrics.reason"       // the reason of a refused request
	ctxClientIP    = "codemetrics.client_ip"
)

// contentSecurityPolicy allows only the SPA's own files: no inline script, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// requestContext gives every request an id, a logger that carries it, and one log line when it
// ends naming the caller, never a secret.
func (a *api) requestContext(c *gin.Context) {
	id := newRequestID()
	c.Set(ctxRequestID, id)
	c.Header("X-Request-Id", id)
	// The base logger; logFrom adds the request id when a handler logs, so that a request that
	// logs nothing but its line below pays for no logger of its own.
	c.Set(ctxLogger, a.log)
	start := time.Now()
	if a.watchProxy && a.untrustedProxy.Load() == nil {
		a.noticeProxy(c, logFrom(c))
	}

	c.Next()

	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("request_id", id),
		slog.String("method", logMethod(c.Request.Method)),
		slog.String("path", c.Request.URL.Path),
		slog.String("route", c.FullPath()),
		slog.Int("status", c.Writer.Status()),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		slog.String("client_ip", clientIP(c)),
	)
	if p := principalOf(c); p != nil {
		attrs = p.appendLogAttrs(attrs)
	}
	if reason := c.GetString(ctxReason); reason != "" {
		attrs = append(attrs, slog.String("reason", reason))
	}
	if reason := c.GetString(ctxAuthFailure); reason != "" {
		attrs = append(attrs, slog.String("auth_failure", reason))
	}
	a.observe(c, time.Since(start))
	level := slog.LevelInfo
	if c.Writer.Status() >= 500 {
		level = slog.LevelError
	}
	// LogAttrs with typed attributes: no boxing of each value into an interface.
	a.log.LogAttrs(c.Request.Context(), level, "request", attrs...)
}

// logMethod bounds the method in the log line: a client may send one of many kilobytes.
func logMethod(m string) string {
	if len(m) > 16 {
		return m[:16] + "…"
	}
	return m
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// fixedHeaders are the security headers every response carries, by canonical name; never
// modified (a handler that sets one replaces the slice, it does not write into it).
var fixedHeaders = map[string][]string{
	"Content-Security-Policy":    {contentSecurityPolicy},
	"X-Content-Type-Options":     {"nosniff"},
	"X-Frame-Options":            {"DENY"},
	"Referrer-Policy":            {"no-referrer"},
	"Cross-Origin-Opener-Policy": {"same-origin"},
}

var hstsHeader = []string{"max-age=63072000; includeSubDomains"}

// securityHeaders sets the headers every response carries.
func (a *api) securityHeaders(c *gin.Context) {
	// Assigned, not Set: the values are shared and the keys already canonical, so every
	// response gets them without an allocation each.
	h := c.Writer.Header()
	for k, v := range fixedHeaders {
		h[k] = v
	}
	if a.https {
		h["Strict-Transport-Security"] = hstsHeader
	}
	c.Next()
}

// recovery turns a panic into a logged 500 problem instead of a dropped connection.
func (a *api) recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			logFrom(c).Error("panic while handling request", "panic", r)
			if !c.Writer.Written() {
				writeProblem(c, http.StatusInternalServerError, string(apperr.ReasonInternal), "internal error")
			}
			c.Abort()
		}
	}()
	c.Next()
}

// crossOrigin refuses state-changing requests that a browser marks as cross-origin
// (Sec-Fetch-Site, Origin against Host or PUBLIC_URL); curl and scripts send neither header.
func (a *api) crossOrigin(c *gin.Context) {
	if err := a.cop.Check(c.Request); err != nil {
		fail(c, apperr.New(apperr.CrossOrigin, "cross-origin request refused: state changes must come from the CodeMetrics portal itself"))
		return
	}
	c.Next()
}

// noticeProxy warns, once, when a request shows that a proxy forwards to this instance
// without being listed in TRUSTED_PROXIES: every client then has the proxy's address, so one
// client's failures limit everyone, and logs name the proxy.
func (a *api) noticeProxy(c *gin.Context, log *slog.Logger) {
	if c.Request.Header.Get("X-Forwarded-For") == "" {
		return
	}
	ip, err := netip.ParseAddr(c.RemoteIP())
	if ip = ip.Unmap(); err != nil || !(ip.IsLoopback() || ip.IsPrivate()) {
		return
	}
	msg := "requests arrive through a proxy that is not in TRUSTED_PROXIES: list the proxy's address there, " +
		"or every client has the proxy's address in rate limits and logs"
	if a.untrustedProxy.CompareAndSwap(nil, &msg) {
		log.Warn(msg, "proxy", ip.String())
	}
}

// observe records the request in the metrics.
func (a *api) observe(c *gin.Context, took time.Duration) {
	if a.Metrics == nil {
		return
	}
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	a.Metrics.Requests.WithLabelValues(route, methodLabel(c.Request.Method), strconv.Itoa(status)).Inc()
	a.Metrics.Latency.WithLabelValues(route).Observe(took.Seconds())
	if status == http.StatusUnauthorized {
		reason := c.GetString(ctxAuthFailure)
		if reason == "" {
			reason = string(apperr.Unauthorized)
		}
		a.Metrics.AuthFailures.WithLabelValues(reason).Inc()
	}
}

// knownMethods are the methods a label or a message may name; any other is client input of
// any length and any number of values.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// methodLabel is the request method if it is a known one, else OTHER: a label value must come
// from a small fixed set, or every new value is a new series kept for good.
func methodLabel(m string) string {
	if knownMethods[m] {
		return m
	}
	return "OTHER"
}

// methodNotAllowed answers 405; a method outside the known set is client input of any length,
// so it is not echoed.
func methodNotAllowed(c *gin.Context) {
	m := "this method"
	if knownMethods[c.Request.Method] {
		m = "method " + c.Request.Method
	}
	fail(c, apperr.New(apperr.NotAllowed, "%s is not allowed here: see the Allow header", m))
}

// clientIP is the request's client address (a trusted proxy's X-Forwarded-For, else the
// connection's), worked out once per request.
func clientIP(c *gin.Context) string {
	if v, ok := c.Get(ctxClientIP); ok {
		return v.(string)
	}
	ip := c.ClientIP()
	c.Set(ctxClientIP, ip)
	return ip
}

// addressKey is the rate-limit key of the client's address (an IPv6 client is its /64).
func addressKey(c *gin.Context) string {
	return ratelimit.AddressKey(clientIP(c))
}
