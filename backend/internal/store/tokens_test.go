package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

// TestStartupReadsOnlyUnexpiredRevocations revokes N tokens that then expire and M that do
// not: the first read of the feed returns the M, never the history, and the feed's last entry
// as the cursor; reading on from that cursor returns it alone, with the counter.
func TestStartupReadsOnlyUnexpiredRevocations(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		const n, m = 40, 6
		st := testenv.Store(t, db)
		ctx := t.Context()
		now := testenv.Epoch
		ev := func(token.Token) audit.Event {
			return audit.Event{At: now, Actor: "a", Action: "token.revoked", Target: "x"}
		}
		live := map[string]bool{}
		for i := range n + m + 5 {
			tok := newToken(fmt.Sprintf("t%03d", i), now)
			if i >= n {
				tok.ExpiresAt = now.Add(30 * 24 * time.Hour)
			}
			if err := st.InsertToken(ctx, tok, audit.Event{At: now, Actor: "a", Action: "token.created", Target: tok.ID}); err != nil {
				t.Fatal(err)
			}
			if i >= n+m {
				continue // active, never revoked
			}
			if _, err := st.RevokeToken(ctx, tok.ID, now, "a", "", ev); err != nil {
				t.Fatal(err)
			}
			if i >= n {
				live[tok.ID] = true
			}
		}
		later := now.Add(2 * time.Hour) // the first n have expired
		last, got, err := st.UnexpiredRevocations(ctx, later)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != m {
			t.Errorf("the first read returned %d revocations, want the %d of unexpired tokens", len(got), m)
		}
		for _, r := range got {
			if !live[r.TokenID] || r.Seq <= n {
				t.Errorf("unexpected entry %+v", r)
			}
		}
		if last.Seq != n+m || last.TokenID != fmt.Sprintf("t%03d", n+m-1) || !last.RevokedAt.Equal(now) {
			t.Errorf("last entry = %+v, want seq %d", last, n+m)
		}
		page, err := st.RevocationsFrom(ctx, last.Seq, 100)
		if err != nil || page.Counter != n+m || len(page.Entries) != 1 || page.Entries[0] != last {
			t.Errorf("reading on from the cursor = %+v, %v; want the counter %d and the cursor's entry", page, err, n+m)
		}

		// An empty feed: no cursor, and the counter still comes back from one statement.
		empty := testenv.Store(t, freshDB(t, db))
		if last, got, err := empty.UnexpiredRevocations(ctx, later); err != nil || last != (token.Revocation{}) || len(got) != 0 {
			t.Errorf("empty feed: %+v %v %v", last, got, err)
		}
		if page, err := empty.RevocationsFrom(ctx, 0, 10); err != nil || page.Counter != 0 || len(page.Entries) != 0 {
			t.Errorf("empty feed from 0: %+v %v", page, err)
		}
	})
}

func freshDB(t *testing.T, db testenv.DB) testenv.DB {
	if db.Driver == store.SQLite {
		return testenv.SQLite(t)
	}
	return testenv.MySQL(t)
}

// BenchmarkStartupRead measures the first read of the revocation feed over a long history:
// 20,000 revocations of expired tokens and 200 of live ones (SQLite).
func BenchmarkStartupRead(b *testing.B) {
	db := testenv.SQLite(b)
	var queries atomic.Int64
	st := testenv.Store(b, db, store.Options{Queries: &queries})
	ctx := context.Background()
	conn := db.SQL(b)
	const expired, live = 20_000, 200
	now := testenv.Epoch
	tx, err := conn.Begin()
	if err != nil {
		b.Fatal(err)
	}
	for i := range expired + live {
		exp := now.Add(-time.Hour)
		if i >= expired {
			exp = now.Add(time.Hour)
		}
		_, err := tx.Exec("INSERT INTO service_tokens (id, subject, scopes, created_at, expires_at, created_by, revoked_at, revoked_by, revocation_seq) VALUES (?, 'ci', 'metrics:read', ?, ?, 'a', ?, 'a', ?)",
			fmt.Sprintf("t%06d", i), now.Add(-2*time.Hour).UnixMilli(), exp.UnixMilli(), now.Add(-90*time.Minute).UnixMilli(), i+1)
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := tx.Exec("UPDATE revocation_feed SET seq = ? WHERE id = 1", expired+live); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.Run("unexpired", func(b *testing.B) {
		for b.Loop() {
			_, got, err := st.UnexpiredRevocations(ctx, now)
			if err != nil || len(got) != live {
				b.Fatalf("%d, %v", len(got), err)
			}
		}
	})
	// What start-up read before: the whole feed, a thousand at a time.
	b.Run("whole-history", func(b *testing.B) {
		for b.Loop() {
			var seq int64
			for {
				page, err := st.RevocationsFrom(ctx, seq+1, 1000)
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Entries) == 0 {
					break
				}
				seq = page.Entries[len(page.Entries)-1].Seq
			}
		}
	})
}

// TestListAndCountShareOneFilter checks the token list and its count against each other on
// every filter they share: active at now, the subject filter and the cursor.
func TestListAndCountShareOneFilter(t *testing.T) {
	testenv.ForEachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		now := testenv.Epoch
		for i := range 12 {
			tok := newToken(fmt.Sprintf("t%02d", i), now.Add(time.Duration(i)*time.Minute))
			tok.Subject = []string{"ci-Deploy", "nightly", "100%_ci"}[i%3]
			tok.ExpiresAt = now.Add(time.Duration(2+i%4) * time.Hour)
			if err := st.InsertToken(ctx, tok, audit.Event{At: now, Actor: "a", Action: "token.created", Target: tok.ID}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.RevokeToken(ctx, "t00", now, "a", "", func(token.Token) audit.Event { return audit.Event{At: now, Actor: "a", Action: "token.revoked"} }); err != nil {
			t.Fatal(err)
		}
		later := now.Add(150 * time.Minute) // the tokens that expire after 2 h are gone
		for _, sort := range []string{token.SortNewest, token.SortExpiring} {
			for _, subject := range []string{"", "CI", "%_", "nothing"} {
				q := token.ListQuery{Now: later, Subject: subject, Sort: sort}
				all, err := st.ListTokens(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for i := range len(all) + 1 {
					if i > 0 {
						c := token.CursorAfter(all[i-1], sort)
						q.After = &c
					}
					rest, err := st.ListTokens(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					n, err := st.CountTokens(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					if int(n) != len(rest) || len(rest) != len(all)-i {
						t.Errorf("sort %q, subject %q, after %d: list %d, count %d, want %d", sort, subject, i, len(rest), n, len(all)-i)
					}
				}
			}
		}
	})
}
