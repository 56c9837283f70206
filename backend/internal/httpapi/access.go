package httpapi

import (
	"net/http"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/auth"
	"github.com/codemetrics/codemetrics/backend/internal/names"
	"github.com/gin-gonic/gin"
)

type recentAdmin struct {
	Email      string `json:"email"`
	Name       string `json:"name"`
	Reason     string `json:"reason"`
	LastSignIn string `json:"lastSignIn"`
}

type accessResponse struct {
	IdentityProvider string        `json:"identityProvider"`
	GroupsClaim      string        `json:"groupsClaim"`
	AdminGroups      []string      `json:"adminGroups"`
	AdminEmails      []string      `json:"adminEmails"`
	RecentAdmins     []recentAdmin `json:"recentAdmins"`
}

// access explains, to administrators, where administrator rights come from and who has used
// them lately (from the audit log's sign-ins).
func (a *api) access(c *gin.Context) {
	cfg := a.Config
	resp := accessResponse{
		IdentityProvider: cfg.OIDCIssuerURL, GroupsClaim: cfg.OIDCGroupsClaim,
		AdminGroups: nonNil(cfg.AdminGroups), AdminEmails: nonNil(cfg.AdminEmails), RecentAdmins: []recentAdmin{},
	}
	events, err := a.Audit.List(c.Request.Context(), audit.Query{Action: actionSignedIn, Limit: 500})
	if err != nil {
		fail(c, err)
		return
	}
	seen := map[string]bool{}
	for _, ev := range events {
		if seen[ev.Actor] || len(resp.RecentAdmins) == 20 {
			continue
		}
		seen[ev.Actor] = true
		name, _ := ev.Details["name"].(string)
		reason, _ := ev.Details["reason"].(string)
		resp.RecentAdmins = append(resp.RecentAdmins, recentAdmin{Email: ev.Actor, Name: name, Reason: reason, LastSignIn: formatTime(ev.At)})
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, resp)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// sessionEntry is one live session on the User Access page. It holds no secret: the id only
// names the session (session tokens carry it too); the cookie's secret is never stored.
type sessionEntry struct {
	ID                  string  `json:"id"`
	Identity            string  `json:"identity"`
	Issuer              string  `json:"issuer"`
	Subject             string  `json:"subject"`
	Name                string  `json:"name"`
	Email               string  `json:"email"`
	EmailVerified       bool    `json:"emailVerified"`
	Actor               string  `json:"actor"`
	IsAdmin             bool    `json:"isAdmin"`
	AdminReason         string  `json:"adminReason"`
	SignedIn            string  `json:"signedIn"`
	Expires             string  `json:"expires"`
	IdleExpires         string  `json:"idleExpires"`
	LastSeen            string  `json:"lastSeen"`
	SignInAddress       string  `json:"signInAddress"`
	LastAddress         string  `json:"lastAddress"`
	LastCookieUse       *string `json:"lastCookieUse"`
	LastTokenUse        *string `json:"lastTokenUse"`
	SessionTokensIssued int     `json:"sessionTokensIssued"`
	Current             bool    `json:"current"`
}

func (a *api) toSessionEntry(s auth.Session, current *auth.Session) sessionEntry {
	optional := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		return formatTimePtr(&t)
	}
	return sessionEntry{
		ID: s.ID, Identity: s.IdentityKey(), Issuer: s.Issuer, Subject: s.Subject, Name: s.Name, Email: s.Email,
		EmailVerified: s.EmailVerified, Actor: s.Actor(), IsAdmin: s.IsAdmin, AdminReason: s.AdminReason,
		SignedIn: formatTime(s.CreatedAt), Expires: formatTime(s.ExpiresAt), IdleExpires: formatTime(s.LastSeenAt.Add(a.Sessions.IdleTimeout())),
		LastSeen: formatTime(s.LastSeenAt), SignInAddress: s.SignInAddress, LastAddress: s.LastAddress,
		LastCookieUse: optional(s.LastCookieUseAt), LastTokenUse: optional(s.LastTokenUseAt),
		SessionTokensIssued: s.SessionTokensIssued, Current: current != nil && current.ID == s.ID,
	}
}

// listSessions lists the live sessions, newest first (all of them: live administrator
// sessions are few; at most auth.MaxListedSessions).
func (a *api) listSessions(c *gin.Context) {
	sessions, err := a.Sessions.List(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	me := principalOf(c).session
	out := make([]sessionEntry, len(sessions))
	for i, s := range sessions {
		out[i] = a.toSessionEntry(s, me)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// endSession ends one session: its cookie and its session tokens stop working at once.
func (a *api) endSession(c *gin.Context) {
	ctx := c.Request.Context()
	sess, err := a.Sessions.Get(ctx, c.Param("sessionId"))
	if err != nil {
		fail(c, err)
		return
	}
	if err := a.Sessions.End(ctx, sess.ID); err != nil {
		fail(c, err)
		return
	}
	p := principalOf(c)
	a.record(c, auditContext(c), actionSessionEnded, sess.Actor(), map[string]any{"session": shortID(sess.ID), "identity": sess.IdentityKey()})
	if p.session.ID == sess.ID && p.viaCookie {
		a.clearSessionCookies(c)
	}
	c.Status(http.StatusNoContent)
}

type endSessionsResponse struct {
	Ended int64 `json:"ended"`
}

// endSessionsOf ends every session of one person, named by ?identity= (the identity key the
// list gives).
func (a *api) endSessionsOf(c *gin.Context) {
	key := c.Query("identity")
	n, err := a.Sessions.EndIdentity(c.Request.Context(), key)
	if err != nil {
		fail(c, err)
		return
	}
	p := principalOf(c)
	if n > 0 {
		a.record(c, auditContext(c), actionSessionsEnded, key, map[string]any{"identity": key, "count": n})
	}
	if p.session.IdentityKey() == key && p.viaCookie {
		a.clearSessionCookies(c)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, endSessionsResponse{Ended: n})
}

// shortID is how a session is named in the audit log and the portal: enough to tell sessions
// apart, shorter than the id.
func shortID(id string) string { return names.Truncate(id, 8) }
