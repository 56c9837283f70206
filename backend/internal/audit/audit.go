// Package audit holds the audit log: who did what, when, to which target.
package audit

import (
	"context"
	"time"
)

// Event is one entry of the audit log. Details never hold a secret.
type Event struct {
	ID      int64
	At      time.Time
	Actor   string
	Action  string
	Target  string
	Details map[string]any
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

// Record appends an event stamped with the current time.
func (l *Log) Record(ctx context.Context, actor, action, target string, details map[string]any) error {
	return l.store.AppendEvent(ctx, Event{At: l.now().UTC(), Actor: actor, Action: action, Target: target, Details: details})
}

// List returns events, newest first: 50 unless the query says, 500 at most.
func (l *Log) List(ctx context.Context, q Query) ([]Event, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 500)
	return l.store.ListEvents(ctx, q)
}
