package httpapi

import (
	"net/http"
	"strconv"

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

type auditEventsResponse struct {
	Events     []auditEventResponse `json:"events"`
	NextCursor string               `json:"nextCursor,omitempty"`
}

// listAuditEvents returns audit events newest first: ?action= filters, ?limit= (1..500,
// default 50) and ?cursor= (the nextCursor of the previous page) page.
func (a *api) listAuditEvents(c *gin.Context) {
	q := audit.Query{Action: c.Query("action"), Limit: 50}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			fail(c, apperr.New(apperr.InvalidParameter, "limit must be a whole number from 1 to 500"))
			return
		}
		q.Limit = n
	}
	if v := c.Query("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			fail(c, apperr.New(apperr.InvalidCursor, "cursor is not one this server gave out: start again without it"))
			return
		}
		q.Before = n
	}
	if len(q.Action) > 64 {
		fail(c, apperr.New(apperr.InvalidParameter, "action is at most 64 characters"))
		return
	}
	events, err := a.Audit.List(c.Request.Context(), q)
	if err != nil {
		fail(c, err)
		return
	}
	resp := auditEventsResponse{Events: make([]auditEventResponse, len(events))}
	for i, ev := range events {
		details := ev.Details
		if details == nil {
			details = map[string]any{}
		}
		resp.Events[i] = auditEventResponse{
			ID: ev.ID, Time: formatTime(ev.At), Actor: ev.Actor, Action: ev.Action, Target: ev.Target, Details: details,
			ActorID: ev.ActorID, Credential: ev.Credential, ClientAddress: ev.ClientAddress, RequestID: ev.RequestID,
		}
	}
	if len(events) == q.Limit {
		resp.NextCursor = strconv.FormatInt(events[len(events)-1].ID, 10)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, resp)
}
