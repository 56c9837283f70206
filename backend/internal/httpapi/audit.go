package httpapi

import (
	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/auth"
	"github.com/codemetrics/codemetrics/backend/internal/names"
	"github.com/gin-gonic/gin"
)

type auditEventResponse struct {
	ID            int64          `json:"id"`
	Time          string         `json:"time"`
	Actor         string         `json:"actor"`
	Action        string         `json:"action"`
	Target        string         `json:"target"`
	Details       map[string]any `json:"details"`
	ActorID       string         `json:"actorId"`
	Credential    string         `json:"credential"`
	ClientAddress string         `json:"clientAddress"`
	RequestID     string         `json:"requestId"`
}

// auditContext is how the request's caller appears in the audit log: the one way the HTTP
// layer says who acted, with which credential, from which address, in which request.
func auditContext(c *gin.Context) audit.Context {
	x := audit.Context{ClientAddress: clientIP(c), RequestID: c.GetString(ctxRequestID)}
	if p := principalOf(c); p != nil {
		x.Actor, x.Credential = p.actor(), p.credential()
		if p.session != nil {
			x.ActorID = p.session.IdentityKey()
		}
	}
	return x
}

// record appends an audit event of its own; a failure is logged, never shown to the caller,
// whose action has already happened.
func (a *api) record(c *gin.Context, who audit.Context, action, target string, details map[string]any) {
	if err := a.Audit.Record(c.Request.Context(), who, action, names.Truncate(target, 400), details); err != nil {
		logFrom(c).Error("could not record an audit event", "action", action, "err", err)
	}
}

// credential names what the caller authenticated with, never its secret.
func (p *principal) credential() string {
	switch {
	case p.service != nil:
		return "token:" + p.service.ID
	case p.sessionTokenID != "":
		return "session-token:" + p.sessionTokenID
	default:
		return sessionCredential(*p.session)
	}
}

// sessionCredential names a session by the first 8 characters of its id: enough to tell
// sessions apart in the log, too few to look one up by.
func sessionCredential(s auth.Session) string {
	id := s.ID
	if len(id) > 8 {
		id = id[:8]
	}
	return "session:" + id
}

func toAuditEventResponse(ev audit.Event) auditEventResponse {
	details := ev.Details
	if details == nil {
		details = map[string]any{}
	}
	return auditEventResponse{
		ID: ev.ID, Time: formatTime(ev.At), Actor: ev.Actor, Action: ev.Action, Target: ev.Target, Details: details,
		ActorID: ev.ActorID, Credential: ev.Credential, ClientAddress: ev.ClientAddress, RequestID: ev.RequestID,
	}
}

// listAuditEvents returns audit events newest first, ?action= filtering, paged as paging.go
// says. No X-Total-Count: the log only grows, and counting it would scan it all.
func (a *api) listAuditEvents(c *gin.Context) {
	servePage(c, "audit-events", []string{"action"}, func(limit int, before *idPosition) ([]audit.Event, int64, error) {
		q := audit.Query{Action: c.Query("action"), Limit: limit}
		if before != nil {
			q.Before = before.ID
		}
		if len(q.Action) > 64 {
			return nil, 0, apperr.New(apperr.InvalidParameter, "action is at most 64 characters")
		}
		events, err := a.Audit.List(c.Request.Context(), q)
		return events, -1, err
	}, toAuditEventResponse, func(ev audit.Event) idPosition { return idPosition{ID: ev.ID} })
}
