package store_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestReplicasMigrateTogether starts several "replicas" migrating one database at once: each
// must succeed, and the schema must be applied exactly once.
func TestReplicasMigrateTogether(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		const n = 4
		stores := make([]*store.Store, n)
		for i := range stores {
			st, err := store.Open(db.Driver, db.DSN) // not migrated yet, unlike testenv.Store's
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			stores[i] = st
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i, st := range stores {
			wg.Go(func() { errs[i] = st.Migrate(context.Background(), quiet) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
		}
		// Usable afterwards, and migrating again changes nothing.
		if err := stores[0].Migrate(context.Background(), quiet); err != nil {
			t.Fatal(err)
		}
		if _, err := stores[1].GetToken(context.Background(), "none"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("GetToken on the migrated schema: %v", err)
		}
	})
}

// storeAt opens a store on db migrated up to version and no further, as an older release left
// it, and closes it when the test ends.
func storeAt(t *testing.T, db testenv.DB, version int64) *store.Store {
	t.Helper()
	st := testenv.OpenStore(t, db)
	if err := st.MigrateTo(t.Context(), version); err != nil {
		t.Fatal(err)
	}
	return st
}

func newToken(id string, now time.Time) token.Token {
	return token.Token{ID: id, Subject: "ci", Scopes: []string{"metrics:read"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour), CreatedBy: "admin@example.com"}
}

// TestChangeAndAuditEventCommitTogether makes the audit insert fail and checks that the change
// it belongs to was rolled back with it.
func TestChangeAndAuditEventCommitTogether(t *testing.T) {
	testenv.ForEachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		now := time.Now().UTC().Truncate(time.Millisecond)
		unencodable := audit.Event{At: now, Actor: "a", Action: "token.created", Target: "t1", Details: map[string]any{"x": make(chan int)}}

		if err := st.InsertToken(ctx, newToken("t1", now), unencodable); err == nil {
			t.Fatal("insert with a failing audit event succeeded")
		}
		if _, err := st.GetToken(ctx, "t1"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("token stored without its audit event: %v", err)
		}

		ok := audit.Event{At: now, Actor: "a", Action: "token.created", Target: "t2"}
		if err := st.InsertToken(ctx, newToken("t2", now), ok); err != nil {
			t.Fatal(err)
		}
		_, err := st.RevokeToken(ctx, "t2", now, "a", "", func(token.Token) audit.Event { return unencodable })
		if err == nil {
			t.Fatal("revoke with a failing audit event succeeded")
		}
		got, err := st.GetToken(ctx, "t2")
		if err != nil || got.RevokedAt != nil {
			t.Fatalf("token revoked without its audit event: %+v %v", got, err)
		}
		if page, err := st.RevocationsFrom(ctx, 0, 10); err != nil || len(page.Entries) != 0 || page.Counter != 0 {
			t.Fatalf("revocation feed moved on a rolled-back revocation: %+v %v", page, err)
		}

		// Concurrent revocations of different tokens get distinct, gap-free sequence numbers.
		for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
			if err := st.InsertToken(ctx, newToken(id, now), ok); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for _, id := range []string{"a", "b", "c", "d", "e", "f", "a", "b"} {
			wg.Go(func() {
				_, err := st.RevokeToken(ctx, id, now, "x", "", func(token.Token) audit.Event { return ok })
				if err != nil && !apperr.Is(err, apperr.NotFound) {
					t.Errorf("revoke %s: %v", id, err)
				}
			})
		}
		wg.Wait()
		page, err := st.RevocationsFrom(ctx, 0, 100)
		revs := page.Entries
		if err != nil || len(revs) != 6 || page.Counter != 6 {
			t.Fatalf("feed = %+v, %v; want 6 revocations", page, err)
		}
		for i, r := range revs {
			if r.Seq != int64(i+1) {
				t.Errorf("feed entry %d has seq %d", i, r.Seq)
			}
		}
	})
}
