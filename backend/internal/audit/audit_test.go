package audit_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestRecordKeepsWhoWhatAndWhen: an event comes back from the log with everything its context
// said of who acted, with what and from where, stamped in UTC by the log's clock.
func TestRecordKeepsWhoWhatAndWhen(t *testing.T) {
	testenv.ForEachStore(t, func(t *testing.T, st *store.Store) {
		at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
		log := audit.NewLog(st, func() time.Time { return at })
		who := audit.Context{Actor: "ada@example.com", ActorID: "https://idp.test u1", Credential: "session:abcdefgh", ClientAddress: "192.0.2.1", RequestID: "req-1"}
		if err := log.Record(context.Background(), who, "token.created", "tok-1", map[string]any{"subject": "ci"}); err != nil {
			t.Fatal(err)
		}
		evs, err := log.List(context.Background(), audit.Query{})
		if err != nil || len(evs) != 1 {
			t.Fatalf("List = %+v, %v", evs, err)
		}
		ev := evs[0]
		ev.ID = 0
		want := audit.Event{At: at.UTC(), Actor: who.Actor, Action: "token.created", Target: "tok-1", ActorID: who.ActorID,
			Credential: who.Credential, ClientAddress: who.ClientAddress, RequestID: who.RequestID, Details: map[string]any{"subject": "ci"}}
		if !reflect.DeepEqual(ev, want) || ev.At.Location() != time.UTC {
			t.Errorf("recorded\n%+v\nwant\n%+v", ev, want)
		}
	})
}

// TestListNewestFirstByActionAndPage: the log lists newest first, filters by exact action and
// continues below an event's id.
func TestListNewestFirstByActionAndPage(t *testing.T) {
	clock := testenv.NewClock()
	log := audit.NewLog(testenv.Store(t, testenv.SQLite(t)), clock.Now)
	ctx := context.Background()
	for i, action := range []string{"token.created", "token.revoked", "token.created", "auth.signed_in", "token.created"} {
		if err := log.Record(ctx, audit.CLI("ops"), action, string(rune('a'+i)), nil); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	targets := func(q audit.Query) string {
		t.Helper()
		evs, err := log.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		s := ""
		for _, ev := range evs {
			s += ev.Target
		}
		return s
	}
	if got := targets(audit.Query{}); got != "edcba" {
		t.Errorf("all events: %s, want newest first edcba", got)
	}
	if got := targets(audit.Query{Action: "token.created"}); got != "eca" {
		t.Errorf("token.created: %s, want eca", got)
	}
	if got := targets(audit.Query{Action: "token"}); got != "" {
		t.Errorf("a prefix of actions: %s, want nothing (the action is exact)", got)
	}
	first, _ := log.List(ctx, audit.Query{Action: "token.created", Limit: 2})
	if got := targets(audit.Query{Action: "token.created", Before: first[len(first)-1].ID}); len(first) != 2 || got != "a" {
		t.Errorf("the page after %d events: %s, want a", len(first), got)
	}
}

// limitStore records the limit the log asks its store for.
type limitStore struct{ limit int }

func (s *limitStore) AppendEvent(context.Context, audit.Event) error { return nil }

func (s *limitStore) ListEvents(_ context.Context, q audit.Query) ([]audit.Event, error) {
	s.limit = q.Limit
	return nil, nil
}

// TestListLimit: 50 events unless the query asks, and never more than MaxList, the API's
// largest page, whatever it asks.
func TestListLimit(t *testing.T) {
	st := &limitStore{}
	log := audit.NewLog(st, time.Now)
	for asked, want := range map[int]int{0: 50, -1: 50, 1: 1, 500: 500, audit.MaxList: audit.MaxList, audit.MaxList + 1: audit.MaxList, 1 << 30: audit.MaxList} {
		if _, err := log.List(context.Background(), audit.Query{Limit: asked}); err != nil || st.limit != want {
			t.Errorf("List with limit %d asked the store for %d (%v), want %d", asked, st.limit, err, want)
		}
	}
}

// TestCLIContext: the command line acts as "cli:<name>" with the credential cli, so it can
// never pose as a person who signed in, and outside any request.
func TestCLIContext(t *testing.T) {
	at := testenv.Epoch
	ev := audit.CLI("admin@example.com").Event(at, "token.revoked", "tok-1", nil)
	if ev.Actor != "cli:admin@example.com" || ev.Credential != "cli" || ev.ActorID != "" || ev.ClientAddress != "" || ev.RequestID != "" ||
		ev.Action != "token.revoked" || ev.Target != "tok-1" || !ev.At.Equal(at) {
		t.Errorf("CLI event = %+v", ev)
	}
}
