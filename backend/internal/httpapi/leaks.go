package httpapi

import (
	"net/http"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/ratelimit"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/gin-gonic/gin"
)

type reportLeakRequest struct {
	Tokens []string `json:"tokens"`
	Source string   `json:"source"`
}

type reportLeakResponse struct {
	Received int `json:"received"`
}

// newLeakLimiter limits leak reports per client address, by AUTH_RATE_LIMIT_PER_MINUTE: the
// endpoint takes no credential, so the address is the only key there is.
func newLeakLimiter(a *api) *ratelimit.Limiter {
	return ratelimit.New(a.Config.AuthRateLimitPerMinute, a.Now)
}

// reportLeak takes token values found where they should not be (POST /api/tokens/report-leak,
// unauthenticated): every correctly signed, active service token among them is revoked, the
// session of every session token ended. The answer is 202 {"received": n} whatever the values
// are, so that it tells nobody whether a value was valid; only a malformed report (not JSON,
// over 100 values or 64 KiB) is refused. The body never reaches a log.
func (a *api) reportLeak(c *gin.Context) {
	if d := a.leakReports.Take(addressKey(c)); !d.Allowed {
		a.tooMany(c, d, "leak_reports", "too many leak reports from your address: wait a minute and send the rest")
		return
	}
	var req reportLeakRequest
	if !decodeJSON(c, &req) {
		return
	}
	ctx := c.Request.Context()
	by := auditContext(c)
	out, err := a.Tokens.ReportLeak(ctx, token.LeakReport{Tokens: req.Tokens, Source: req.Source, By: by}, logFrom(c))
	if err != nil {
		fail(c, err)
		return
	}
	src, _ := token.NormalizeLeakSource(req.Source) // checked by ReportLeak
	ended := 0
	for _, claims := range out.Sessions {
		sess, err := a.Sessions.FromToken(ctx, claims)
		if err != nil {
			continue // ended already, or not ours
		}
		if err := a.Sessions.End(ctx, sess.ID); err != nil {
			logFrom(c).Error("could not end the session of a session token reported leaked: end it on the User Access page", "session", shortID(sess.ID), "err", err)
			continue
		}
		ended++
		who := by
		who.Actor = token.LeakReporter
		details := map[string]any{"session": shortID(sess.ID), "identity": sess.IdentityKey(), "reason": token.ReasonLeaked, "leakReport": true}
		if src != "" {
			details["source"] = src
		}
		a.record(c, who, actionSessionEnded, sess.Actor(), details)
	}
	if len(out.Revoked) > 0 || ended > 0 {
		ids := make([]string, len(out.Revoked))
		for i, t := range out.Revoked {
			ids[i] = t.ID
		}
		logFrom(c).Warn("tokens reported leaked were revoked", "token_ids", ids, "sessions_ended", ended)
	}
	if a.Metrics != nil && len(out.Revoked) > 0 {
		a.Metrics.TokensRevoked.Add(float64(len(out.Revoked)))
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusAccepted, reportLeakResponse{Received: len(req.Tokens)})
}

type identifyTokenRequest struct {
	Token *string `json:"token"`
}

// identifyToken finds a service token by its value (POST /api/tokens/identify, administrators):
// its entry as the token list shows it (with its status), for active and ended tokens alike;
// 404 when the value is not a token of this server. The value is neither stored nor logged.
func (a *api) identifyToken(c *gin.Context) {
	var req identifyTokenRequest
	if !decodeJSON(c, &req) {
		return
	}
	if req.Token == nil {
		fail(c, apperr.New(apperr.InvalidField, "token is required: paste the token's value (eyJ…)"))
		return
	}
	found, err := a.Tokens.Identify(c.Request.Context(), *req.Token)
	if err != nil {
		fail(c, err)
		return
	}
	// The token list's entry, whose status says whether it is active, rotated, expired or revoked.
	b := appendTokenJSON(make([]byte, 0, 400), found, a.Now(), a.Tokens.StaleBefore(a.Now()))
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/json; charset=utf-8", b)
}
