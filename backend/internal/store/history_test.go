package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestMigrationGivesExistingTokensTheirHistory: tokens of a database an older release left
// (active, revoked, expired) come through migration 00010 with the status, the end and the
// history filter they had in effect, and nothing rotated.
func TestMigrationGivesExistingTokensTheirHistory(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		old := storeAt(t, db, store.ServiceUsersMigration-1)
		created := testenv.Epoch.Add(-48 * time.Hour)
		revokedAt := testenv.Epoch.Add(-24 * time.Hour)
		conn := old.SQL()
		testenv.Exec(t, conn,
			fmt.Sprintf("INSERT INTO service_tokens (id, subject, scopes, created_at, expires_at, created_by) VALUES ('active', 'ci', 'metrics:read', %d, %d, 'a@example.com')", created.UnixMilli(), testenv.Epoch.Add(time.Hour).UnixMilli()),
			fmt.Sprintf("INSERT INTO service_tokens (id, subject, scopes, created_at, expires_at, created_by) VALUES ('expired', 'ci', 'metrics:read', %d, %d, 'a@example.com')", created.UnixMilli(), testenv.Epoch.Add(-time.Hour).UnixMilli()),
			fmt.Sprintf("INSERT INTO service_tokens (id, subject, scopes, created_at, expires_at, created_by, revoked_at, revoked_by, revocation_seq) VALUES ('revoked', 'ci', 'metrics:read', %d, %d, 'a@example.com', %d, 'b@example.com', 1)", created.UnixMilli(), testenv.Epoch.Add(time.Hour).UnixMilli(), revokedAt.UnixMilli()),
			"UPDATE revocation_feed SET seq = 1",
		)
		old.Close()

		e := testenv.Start(t, db) // migrates the rest of the way
		admin := e.SignIn("admin@example.com", true)
		byID := map[string]testenv.TokenEntry{}
		for _, l := range e.ListTokensWith(admin, "status=all") {
			byID[l.TokenID] = l
		}
		for id, want := range map[string]struct{ status, ends string }{
			"active":  {"active", testenv.Epoch.Add(time.Hour).Format(testenv.TimeFormat)},
			"expired": {"expired", testenv.Epoch.Add(-time.Hour).Format(testenv.TimeFormat)},
			"revoked": {"revoked", revokedAt.Format(testenv.TimeFormat)},
		} {
			if l := byID[id]; l.Status != want.status || l.Ends != want.ends || l.Description != "" || l.Replaces != nil || l.ReplacedBy != nil {
				t.Errorf("%s after the migration: %+v, want %+v", id, l, want)
			}
		}
		if got := testenv.TokenIDs(e.ListTokens(admin)); !slices.Equal(got, []string{"active"}) {
			t.Errorf("active list %v", got)
		}
		// ended_at, which the history purge goes by, is each token's end.
		for id, want := range map[string]time.Time{"active": testenv.Epoch.Add(time.Hour), "expired": testenv.Epoch.Add(-time.Hour), "revoked": revokedAt} {
			var ended int64
			if err := db.SQL(t).QueryRow("SELECT ended_at FROM service_tokens WHERE id = ?", id).Scan(&ended); err != nil || ended != want.UnixMilli() {
				t.Errorf("%s: ended_at %d (%v), want %d", id, ended, err, want.UnixMilli())
			}
		}
	})
}
