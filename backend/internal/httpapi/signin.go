package httpapi

import (
	"html/template"
	"net/http"
	"regexp"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/auth"
	"github.com/gin-gonic/gin"
)

// Audit actions of the sign-in.
const (
	actionSignedIn     = "auth.signed_in"
	actionSignInDenied = "auth.sign_in_denied"
	actionSignedOut    = "auth.signed_out"
	// actionSessionEnded: one session ended by an administrator, or replaced on its browser.
	actionSessionEnded = "auth.session_ended"
	// actionSessionsEnded: every session of one person ended (by an administrator, or because
	// their sign-in was denied: they are no longer an administrator).
	actionSessionsEnded = "auth.sessions_ended"
	// actionSessionTokenIssued: a signed-in person took a bearer session token.
	actionSessionTokenIssued = "auth.session_token_issued"
)

func (a *api) loginCookieName() string {
	if a.https {
		return "__Host-codemetrics_login"
	}
	return "codemetrics_login"
}

// login sends the browser to the identity provider, remembering in a signed, short-lived
// cookie the state, nonce, PKCE verifier and the local page to come back to.
func (a *api) login(c *gin.Context) {
	if a.SignIn == nil {
		a.signInPage(c, "Sign-in is not configured", apperr.New(apperr.SignInNotConfigured,
			"This CodeMetrics has no identity provider configured. An operator must set OIDC_ISSUER_URL, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET."))
		return
	}
	authURL, cookie, err := a.SignIn.Begin(c.Request.Context(), auth.SafeRedirect(c.Query("redirect")))
	if err != nil {
		logFrom(c).Warn("cannot start sign-in", "err", err)
		a.signInPage(c, "Sign-in is unavailable", err)
		return
	}
	a.setCookie(c, a.loginCookieName(), cookie, a.Now().Add(auth.LoginStateTTL), true)
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusFound, authURL)
}

// providerError matches the error codes of RFC 6749 §4.1.2.1; anything else is not echoed.
var providerError = regexp.MustCompile(`^[a-z_]{1,64}$`)

// callback finishes the sign-in. Administrators get a new session (never one planted
// beforehand); everyone else gets the access-denied page and no session.
func (a *api) callback(c *gin.Context) {
	cookie, _ := c.Cookie(a.loginCookieName())
	a.setCookie(c, a.loginCookieName(), "", time.Unix(0, 0), true) // one use, whatever happens
	c.Header("Cache-Control", "no-store")
	if a.SignIn == nil {
		a.signInPage(c, "Sign-in is not configured", apperr.New(apperr.SignInNotConfigured, "This CodeMetrics has no identity provider configured."))
		return
	}
	if e := c.Query("error"); e != "" {
		if !providerError.MatchString(e) {
			e = "unknown error"
		}
		if a.limitSignIns(c) {
			return
		}
		a.signInPage(c, "Sign-in was not completed", apperr.New(apperr.SignInRefused, "The identity provider answered: %s. Start again, or ask your administrator.", e))
		return
	}
	out, err := a.SignIn.Finish(c.Request.Context(), cookie, c.Query("state"), c.Query("code"))
	if err != nil {
		logFrom(c).Warn("sign-in refused", "reason", apperr.ReasonOf(err), "err", err)
		if statusFor(err) < 500 && a.limitSignIns(c) {
			return
		}
		a.signInPage(c, "Sign-in failed", err)
		return
	}
	id := out.Identity
	ctx := c.Request.Context()
	// The identity provider's answer acts here, not whatever session the browser may hold.
	who := auditContext(c)
	who.Actor, who.ActorID, who.Credential = id.Actor(), id.IdentityKey(), "oidc"
	// Whatever session this browser held (perhaps planted, perhaps another person's) ends:
	// it is never reused, and it does not outlive a sign-in that replaces it.
	if p := principalOf(c); p != nil && p.session != nil {
		if err := a.Sessions.End(ctx, p.session.ID); err != nil {
			fail(c, err)
			return
		}
		if p.session.IdentityKey() != id.IdentityKey() || !id.IsAdmin {
			a.record(c, who, actionSessionEnded, p.session.Actor(), map[string]any{
				"session": shortID(p.session.ID), "reason": "replaced by a sign-in of " + id.Actor() + " on the same browser",
			})
		}
		a.clearSessionCookies(c)
	}
	if !id.IsAdmin {
		a.record(c, who, actionSignInDenied, id.Actor(), map[string]any{"reason": id.Reason})
		// Someone who is no longer an administrator keeps nothing: every session of theirs,
		// and every session token taken from one, ends now.
		if key := id.IdentityKey(); key != "" {
			n, err := a.Sessions.EndIdentity(ctx, key)
			if err != nil {
				fail(c, err)
				return
			}
			if n > 0 {
				a.record(c, who, actionSessionsEnded, id.Actor(), map[string]any{
					"identity": key, "count": n, "reason": "sign-in denied: " + id.Reason,
				})
			}
		}
		logFrom(c).Info("sign-in denied: not an administrator", "user", id.Actor())
		c.Redirect(http.StatusSeeOther, "/access-denied")
		return
	}
	sess, err := a.startSession(c, id)
	if err != nil {
		fail(c, err)
		return
	}
	// From here the request acts as the new session: the audit log and the log line say so.
	c.Set(ctxPrincipal, &principal{session: &sess, viaCookie: true})
	a.record(c, auditContext(c), actionSignedIn, id.Actor(), map[string]any{"name": id.Name, "reason": id.Reason, "identity": id.IdentityKey()})
	c.Redirect(http.StatusSeeOther, out.Redirect)
}

var signInTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · CodeMetrics</title></head>
<body><main><h1>{{.Title}}</h1><p>{{.Detail}}</p><p><a href="/auth/login">Try signing in again</a> · <a href="/">CodeMetrics home</a></p></main></body></html>`))

// signInPage answers a browser navigation that failed with err with a small HTML page: the
// status is the API's for err's code, the text err's client-safe message, escaped.
func (a *api) signInPage(c *gin.Context, title string, err error) {
	refused(c, err)
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Status(statusFor(err))
	_ = signInTemplate.Execute(c.Writer, struct{ Title, Detail string }{title, apperr.MessageOf(err)})
	c.Abort()
}
