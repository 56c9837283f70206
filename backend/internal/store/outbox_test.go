package store_test

import (
	"testing"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/notify"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

// TestFinishDeliveryOutlastsADeadlock: an attempt whose recording the database picks as a
// deadlock victim is recorded all the same. Left pending and claimed, the delivery would be
// claimed again when the lease ends and sent a second time.
func TestFinishDeliveryOutlastsADeadlock(t *testing.T) {
	testenv.ForEachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		now := testenv.Epoch
		tok := newToken("t1", now)
		if err := st.InsertToken(ctx, tok, audit.Event{At: now, Actor: "a", Action: "token.created", Target: tok.ID}); err != nil {
			t.Fatal(err)
		}
		revoked := func(token.Token) audit.Event {
			return audit.Event{At: now, Actor: "a", Action: "token.revoked", Target: tok.ID}
		}
		if _, err := st.RevokeToken(ctx, tok.ID, now, "a", "", revoked); err != nil {
			t.Fatal(err)
		}
		if n, err := st.FanOut(ctx, now.Add(-time.Hour), now, []notify.Target{{Key: "hook", Label: "https://hooks.example", Kind: "webhook"}}); n != 1 || err != nil {
			t.Fatalf("fan out: %d %v", n, err)
		}
		ids, err := st.DueDeliveries(ctx, now, 10)
		if err != nil || len(ids) != 1 {
			t.Fatalf("due: %v %v", ids, err)
		}
		if _, ok, err := st.ClaimDelivery(ctx, ids[0], "me", now, now.Add(notify.Lease)); !ok || err != nil {
			t.Fatalf("claim: %v %v", ok, err)
		}
		st.FailNextUpdate("notification_deliveries", &mysqldriver.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock; try restarting transaction"})
		if err := st.FinishDelivery(ctx, ids[0], "me", notify.Outcome{At: now, Status: notify.Delivered}); err != nil {
			t.Fatalf("finish: %v", err)
		}
		later := now.Add(notify.Lease + time.Second)
		if due, err := st.DueDeliveries(ctx, later, 10); len(due) != 0 || err != nil {
			t.Errorf("due once the lease ended: %v %v, want none", due, err)
		}
		ds, err := st.ListDeliveries(ctx, notify.DeliveryQuery{Limit: 10})
		if err != nil || len(ds) != 1 || ds[0].Status != notify.Delivered || ds[0].Attempts != 1 {
			t.Errorf("deliveries %+v %v, want one delivered at the first attempt", ds, err)
		}
	})
}
