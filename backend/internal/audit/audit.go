// Package audit holds the audit log: who did what, when, to which target.
package audit

import (
	"context"
	"time"
)

// Event is one entry of the audit log. Details never hold a secret.
type Event struct {
	ID     int64
	At     time.Time
	Actor  string
	Action string
	Target string
	// ActorID is the stable identity key of the person who acted (issuer and subject), "" when
	// the actor is not a person signed in through the identity provider.
	ActorID string
	// Credential names what acted, never its secret: "session:<first 8 characters of the
	// session id>", "session-token:<id>", "token:<id>", "cli" or "oidc" (a refused sign-in).
	Credential string
	// ClientAddress is the client's address as the server saw it; "" outside a request.
	ClientAddress string
	// RequestID is the X-Request-Id of the request that caused the event; "" outside a request.
	RequestID string
	Details   map[string]any
}

// Context is who acted, with what and from where: everything an event records besides what
// happened. The HTTP layer fills it from the request, the command line with "cli".
type Context struct {
	Actor         string
	ActorID       string
	Credential    string
	ClientAddress string
	RequestID     string
}

// CLI is the context of the command line run by name: its actor is "cli:<name>", so it can
// never pose as a person who signed in.
func CLI(name string) Context { return Context{Actor: "cli:" + name, Credential: "cli"} }

// Event returns the event of action on target at the given time, carrying the context.
func (x Context) Event(at time.Time, action, target string, details map[string]any) Event {
	return Event{
		At: at, Actor: x.Actor, Action: action, Target: target, Details: details,
		ActorID: x.ActorID, Credential: x.Credential, ClientAddress: x.ClientAddress, RequestID: x.RequestID,
	}
}

// Query selects audit events, newest first.
type Query struct {
	Action string // exact action, or "" for all
	Limit  int
	Before int64 // continue below this event id; 0 starts at the newest
}

// Store is what the audit log needs from persistence.
type Store interface {
	// AppendEvent stores an event on its own (events that go with a change are written by the
	// change's own transaction instead).
	AppendEvent(ctx context.Context, ev Event) error
	ListEvents(ctx context.Context, q Query) ([]Event, error)
}

// Log records and lists audit events.
type Log struct {
	store Store
	now   func() time.Time
}

// NewLog returns an audit log over store.
func NewLog(store Store, now func() time.Time) *Log { return &Log{store: store, now: now} }

// Record appends an event by who, stamped with the current time.
func (l *Log) Record(ctx context.Context, who Context, action, target string, details map[string]any) error {
	return l.store.AppendEvent(ctx, who.Event(l.now().UTC(), action, target, details))
}

// MaxList is the most events one List returns, the API's largest page.
const MaxList = 1000

// List returns events, newest first: 50 unless the query says, MaxList at most.
func (l *Log) List(ctx context.Context, q Query) ([]Event, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, MaxList)
	return l.store.ListEvents(ctx, q)
}
