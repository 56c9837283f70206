package httpapi

import (
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/auth"
	"github.com/codemetrics/codemetrics/backend/internal/ratelimit"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/gin-gonic/gin"
)

// principal is who is calling: a service token, or a person's session (by cookie or by a
// bearer session token).
type principal struct {
	service   *token.Claims // set for a service token
	session   *auth.Session // set for a session
	viaCookie bool
	// sessionTokenID is the id of the bearer session token the session came with, if any.
	sessionTokenID string

	// access is what a service token may do, from its service user as known now.
	access token.Access
}

// appendLogAttrs adds who the caller is to a request's log line.
func (p *principal) appendLogAttrs(attrs []slog.Attr) []slog.Attr {
	if p.service != nil {
		return append(attrs, slog.String("token_id", p.service.ID), slog.String("subject", p.service.Subject),
			slog.Int64("service_user_id", p.access.ServiceUserID()))
	}
	via := "session_token"
	if p.viaCookie {
		via = "cookie"
	}
	return append(attrs, slog.String("user", p.session.Actor()), slog.Bool("admin", p.session.IsAdmin), slog.String("via", via))
}

// actor names the caller in the audit log.
func (p *principal) actor() string {
	if p.service != nil {
		return "token:" + p.service.ID
	}
	return p.session.Actor()
}

func principalOf(c *gin.Context) *principal {
	if v, ok := c.Get(ctxPrincipal); ok {
		return v.(*principal)
	}
	return nil
}

// TokenExpirationHeader is on every answer to a service token: the moment it stops working
// (its expiry, or the end of its grace period once rotated; RFC 3339, UTC).
const TokenExpirationHeader = "CodeMetrics-Token-Expiration"

// tokenExpirationKey is its canonical form, assigned directly on the hot path.
var tokenExpirationKey = http.CanonicalHeaderKey(TokenExpirationHeader)

var (
	errNoCredentials = apperr.New(apperr.CredentialsMissing, "authentication required: send Authorization: Bearer <token>, or sign in")
	errBadAuthHeader = apperr.New(apperr.AuthHeaderMalformed, "malformed Authorization header: use \"Authorization: Bearer <token>\"")
	errTwoAuthHeader = apperr.New(apperr.AuthHeaderRepeated, "send exactly one Authorization header")
	errNeedAdmin     = apperr.New(apperr.AdminRequired, "administrator access required: only administrators signed in through SSO may manage tokens; a service token cannot")
	errNotAdmin      = apperr.New(apperr.NotAdmin, "your account is not an administrator: access is granted in the identity provider (ADMIN_GROUPS or ADMIN_EMAILS)")
	errCSRF          = apperr.New(apperr.CSRFInvalid, "missing or wrong CSRF token: send the X-CSRF-Token header the portal was given")
)

// authenticate works out the principal of the request. A bearer token, when present, must be
// valid (401 otherwise); without one the session cookie is used, if any. A request with no
// credentials goes on anonymous: the route's own requirement decides.
func (a *api) authenticate(c *gin.Context) {
	headers := c.Request.Header.Values("Authorization")
	switch {
	case len(headers) > 0:
		// Verify first (in memory for a forged token): only failures spend the address's
		// budget, so nobody sharing the address can lock a valid credential out.
		p, err := a.bearer(c, headers)
		if err != nil {
			// A token of ours that has stopped working, still presented: counted, so that the
			// job nobody remembered shows up (in memory; the flush writes it).
			// Only then is the client worked out: a forged token costs nothing more.
			if id, ok := token.EndedTokenID(err); ok {
				a.Guard.CountEnded(id, clientOf(c))
			}
			if apperr.Is(err, apperr.Unauthorized) {
				if d := a.authFailures.Take(addressKey(c)); !d.Allowed {
					c.Set(ctxAuthFailure, string(apperr.ReasonOf(err))) // the log line still says why
					a.tooMany(c, d, "auth_failures", "too many failed authentications from your address: wait and try again")
					return
				}
			}
			fail(c, err)
			return
		}
		// Each credential has its own budget: a service token by its id, a session token by its
		// session, so minting more session tokens from one session does not add budget.
		var key string
		if p.service != nil {
			// Counted once answered, whatever the answer: refused when it is 403 or 429.
			defer a.countUse(c, p)
			key = p.service.ID
			// Every answer to a service token says when it stops working, so that a pipeline's
			// log shows it long before it does. From the verified claims: no database statement.
			// A rotated token's is the end of its grace period (once this instance knows of the
			// rotation: at once on the one that rotated it, within a feed poll on the others).
			c.Writer.Header()[tokenExpirationKey] = []string{p.access.StopsAt().UTC().Format(time.RFC3339)}
		} else {
			key = "session:" + p.session.ID
		}
		d := a.tokenLimit.Take(key)
		setRateLimitHeaders(c, d)
		if !d.Allowed {
			c.Set(ctxPrincipal, p) // the log line still names the caller
			a.tooMany(c, d, "token", "this token has made too many requests: slow down (see the RateLimit headers)")
			return
		}
		c.Set(ctxPrincipal, p)
		// A service user bound to networks: the address after TRUSTED_PROXIES, checked in memory.
		if p.service != nil {
			if err := p.access.CheckAddress(clientIP(c)); err != nil {
				fail(c, err)
				return
			}
		}
	default:
		secret, err := c.Cookie(a.sessionCookie)
		if err != nil || secret == "" {
			break
		}
		sess, err := a.Sessions.FromCookie(c.Request.Context(), secret)
		if apperr.Is(err, apperr.Unauthorized) {
			a.clearSessionCookies(c) // ended or expired: tidy the browser up
			break
		}
		if err != nil {
			fail(c, err)
			return
		}
		c.Set(ctxPrincipal, &principal{session: &sess, viaCookie: true})
	}
	c.Next()
}

// countUse counts a request made with a service token, in memory (Guard.Flush writes it).
func (a *api) countUse(c *gin.Context, p *principal) {
	st := c.Writer.Status()
	a.Guard.Count(p.access, clientOf(c), st == http.StatusForbidden || st == http.StatusTooManyRequests)
}

// clientOf is who made the request, as token usage records it.
func clientOf(c *gin.Context) token.Client {
	return token.NewClient(clientIP(c), c.Request.UserAgent())
}

// bearer authenticates the Authorization header: a service token, or a session token whose
// session is still live.
func (a *api) bearer(c *gin.Context, headers []string) (*principal, error) {
	if len(headers) > 1 {
		return nil, errTwoAuthHeader
	}
	raw, ok := bearerToken(headers[0])
	if !ok {
		return nil, errBadAuthHeader
	}
	claims, access, err := a.Guard.VerifyAccess(c.Request.Context(), raw)
	if err != nil {
		return nil, err
	}
	if claims.TokenUse == token.UseService {
		return &principal{service: claims, access: access}, nil
	}
	sess, err := a.Sessions.FromToken(c.Request.Context(), claims)
	if err != nil {
		return nil, err
	}
	return &principal{session: &sess, sessionTokenID: claims.ID}, nil
}

// limitSignIns counts a failed sign-in callback against the client's address and, once the
// address has failed too often, answers 429 in place of the failure page (true: answered).
// Only failures are counted: /auth/login is a redirect that gains an attacker nothing, and a
// callback the provider vouches for always succeeds, whoever else shares the address.
func (a *api) limitSignIns(c *gin.Context) bool {
	d := a.signIns.Take(addressKey(c))
	if d.Allowed {
		return false
	}
	if a.Metrics != nil {
		a.Metrics.RateLimited.WithLabelValues("sign_in").Inc()
	}
	c.Header("Retry-After", retryAfterSeconds(d))
	a.signInPage(c, "Too many sign-in attempts", apperr.New(apperr.RateLimited, "Too many failed sign-in attempts from your address: wait a minute and try again."))
	return true
}

func (a *api) tooMany(c *gin.Context, d ratelimit.Decision, limit, msg string) {
	if a.Metrics != nil {
		a.Metrics.RateLimited.WithLabelValues(limit).Inc()
	}
	c.Header("Retry-After", retryAfterSeconds(d))
	fail(c, apperr.New(apperr.RateLimited, "%s", msg))
}

// setRateLimitHeaders reports the limit as the IETF RateLimit header fields draft does.
func setRateLimitHeaders(c *gin.Context, d ratelimit.Decision) {
	if d.Limit == 0 {
		return
	}
	c.Header("RateLimit-Policy", strconv.Itoa(d.Limit)+";w=60")
	c.Header("RateLimit", "limit="+strconv.Itoa(d.Limit)+", remaining="+strconv.Itoa(d.Remaining)+", reset="+strconv.Itoa(int(math.Ceil(d.Reset.Seconds()))))
}

func retryAfterSeconds(d ratelimit.Decision) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.RetryAfter.Seconds()))))
}

// bearerToken extracts the token of "Bearer <token>" (the scheme is case-insensitive, as RFC
// 9110 says); anything else is malformed.
func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}

// requireAdmin admits an administrator's session only: not a service token, not a person
// who is not an administrator. Cookie-authenticated state changes also need the CSRF token.
func (a *api) requireAdmin(c *gin.Context) {
	p := principalOf(c)
	switch {
	case p == nil:
		fail(c, errNoCredentials)
	case p.service != nil:
		fail(c, errNeedAdmin)
	case !p.session.IsAdmin:
		fail(c, errNotAdmin)
	default:
		a.checkCSRF(c, p)
	}
}

// requireSession admits any signed-in person (administrator or not).
func (a *api) requireSession(c *gin.Context) {
	p := principalOf(c)
	switch {
	case p == nil:
		fail(c, errNoCredentials)
	case p.service != nil:
		fail(c, apperr.New(apperr.SessionRequired, "this endpoint is for signed-in people, not service tokens"))
	default:
		a.checkCSRF(c, p)
	}
}

// requireScope admits a service token holding scope, or an administrator's session.
func (a *api) requireScope(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := principalOf(c)
		switch {
		case p == nil:
			fail(c, errNoCredentials)
		case p.service != nil && !p.access.TokenHasScope(scope):
			fail(c, apperr.New(apperr.ScopeMissing, "this token lacks the %q scope: create a token with it", scope))
		case p.service != nil && !p.access.HasScope(scope):
			fail(c, apperr.New(apperr.ScopeMissing, "this token's service user %q no longer holds the %q scope: an administrator can grant it to the service user", p.access.ServiceUser(), scope))
		case p.session != nil && !p.session.IsAdmin:
			fail(c, errNotAdmin)
		case p.session != nil:
			a.checkCSRF(c, p)
		default:
			c.Next()
		}
	}
}

func (a *api) checkCSRF(c *gin.Context, p *principal) {
	if p.viaCookie && !isSafeMethod(c.Request.Method) && !a.Sessions.CheckCSRF(*p.session, c.GetHeader("X-CSRF-Token")) {
		fail(c, errCSRF)
		return
	}
	c.Next()
}

func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
