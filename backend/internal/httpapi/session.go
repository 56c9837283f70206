package httpapi

import (
	"net/http"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/auth"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
)

// legacyCSRFCookie is where earlier versions put the CSRF token for the SPA. The token now
// travels only in GET /api/auth/me's csrfToken (the SPA keeps it in memory) and the server
// never reads this cookie: a sibling subdomain can plant a cookie of that name for this host,
// and it must neither break the portal nor authorise anything. It is only ever cleared.
const legacyCSRFCookie = "codemetrics_csrf"

type meResponse struct {
	Email       string `json:"email"`
	Name        string `json:"name"`
	IsAdmin     bool   `json:"isAdmin"`
	Expires     string `json:"expires"`
	AdminReason string `json:"adminReason"`
	CSRFToken   string `json:"csrfToken,omitempty"`
}

func (a *api) me(c *gin.Context) {
	p := principalOf(c)
	resp := meResponse{Email: p.session.Email, Name: p.session.Name, IsAdmin: p.session.IsAdmin, Expires: formatTime(p.session.ExpiresAt), AdminReason: p.session.AdminReason}
	if p.viaCookie {
		resp.CSRFToken = a.Sessions.CSRFToken(*p.session)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, resp)
}

type sessionTokenResponse struct {
	SessionToken string `json:"sessionToken"`
	Expires      string `json:"expires"`
}

// sessionToken gives a signed-in administrator a bearer token for curl, expiring with the
// session and refused as soon as the session ends.
func (a *api) sessionToken(c *gin.Context) {
	sess := principalOf(c).session
	raw, exp, err := a.Sessions.IssueToken(*sess)
	if err != nil {
		fail(c, err)
		return
	}
	// The User Access page shows which sessions handed out tokens.
	if err := a.Sessions.TokenIssued(c.Request.Context(), *sess); err != nil {
		fail(c, err)
		return
	}
	// The token was signed a moment ago by this server: reading its id needs no verification.
	var claims token.Claims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &claims); err != nil {
		fail(c, apperr.Wrap(err, apperr.Internal, "read the session token's id"))
		return
	}
	// Its id and expiry, never its value: the id is what later events name it by.
	a.record(c, auditContext(c), actionSessionTokenIssued, sess.Actor(), map[string]any{"jti": claims.ID, "expires": formatTime(exp)})
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, sessionTokenResponse{SessionToken: raw, Expires: formatTime(exp)})
}

// logout ends the session server-side, so the old cookie and its session tokens stop working.
func (a *api) logout(c *gin.Context) {
	p := principalOf(c)
	if p != nil && p.session != nil {
		if p.viaCookie && !a.Sessions.CheckCSRF(*p.session, c.GetHeader("X-CSRF-Token")) {
			fail(c, errCSRF)
			return
		}
		if err := a.Sessions.End(c.Request.Context(), p.session.ID); err != nil {
			fail(c, err)
			return
		}
		a.record(c, auditContext(c), actionSignedOut, p.session.Actor(), nil)
	}
	a.clearSessionCookies(c)
	c.Status(http.StatusNoContent)
}

// StartSession is how a sign-in hands a person their session: a new session id every time.
func (a *api) startSession(c *gin.Context, id auth.Identity) (auth.Session, error) {
	secret, sess, err := a.Sessions.StartFrom(c.Request.Context(), id, clientIP(c))
	if err != nil {
		return auth.Session{}, err
	}
	a.setCookie(c, a.sessionCookie, secret, sess.ExpiresAt, true)
	a.setCookie(c, legacyCSRFCookie, "", time.Unix(0, 0), false)
	return sess, nil
}

// seen records that the caller's session was used (at most one write a minute per session),
// for the idle timeout and the User Access page. It runs after authenticate.
func (a *api) seen(c *gin.Context) {
	if p := principalOf(c); p != nil && p.session != nil {
		via := auth.ViaToken
		if p.viaCookie {
			via = auth.ViaCookie
		}
		if err := a.Sessions.Seen(c.Request.Context(), p.session, via, clientIP(c)); err != nil {
			logFrom(c).Warn("could not record a session's last use", "err", err)
		}
	}
	c.Next()
}

func (a *api) clearSessionCookies(c *gin.Context) {
	a.setCookie(c, a.sessionCookie, "", time.Unix(0, 0), true)
	a.setCookie(c, legacyCSRFCookie, "", time.Unix(0, 0), false)
}

func (a *api) setCookie(c *gin.Context, name, value string, expires time.Time, httpOnly bool) {
	ck := &http.Cookie{
		Name: name, Value: value, Path: "/", Expires: expires,
		HttpOnly: httpOnly, Secure: a.https, SameSite: http.SameSiteLaxMode,
	}
	if value == "" {
		ck.MaxAge = -1
	}
	http.SetCookie(c.Writer, ck)
}
