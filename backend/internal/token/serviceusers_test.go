package token

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
)

// TestAccessIsTheServiceUsersAsKnownNow: two guards on one store; a change made through one
// service applies there at once, on the other guard after its next Sync, and a feed whose
// counter went back is read again from the start. Looking up the token costs one read per
// guard; the service user's changes cost none on the request path.
func TestAccessIsTheServiceUsersAsKnownNow(t *testing.T) {
	ctx := context.Background()
	a := newFixture(t)
	b := &fixture{clk: a.clk, store: a.store, keys: a.keys}
	b.guard = NewGuard(b.keys, b.store, b.clk.Now, slog.New(slog.NewTextHandler(io.Discard, nil)), GuardOptions{})
	if err := b.guard.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	by := audit.Context{Actor: "admin@example.com"}
	c, err := a.svc.Create(ctx, CreateRequest{Subject: "ci", Scopes: []string{ScopeMetricsRead, ScopePipelineWrite}, Workloads: []string{"team-a"}, CreatedBy: by.Actor})
	if err != nil {
		t.Fatal(err)
	}
	if !c.NewUser || c.User.Name != "ci" || c.Token.ServiceUserID != c.User.ID {
		t.Fatalf("created %+v", c)
	}
	access := func(g *Guard) (Access, error) {
		t.Helper()
		_, acc, err := g.VerifyAccess(ctx, c.Value)
		return acc, err
	}
	for _, g := range []*Guard{a.guard, b.guard} {
		acc, err := access(g)
		if err != nil || !acc.HasScope(ScopePipelineWrite) || !acc.MayUse("team-a") || acc.MayUse("team-b") || acc.AllWorkloads() || acc.ServiceUser() != "ci" {
			t.Fatalf("access %+v, %v", acc, err)
		}
	}
	loads := a.store.users.loads
	if loads != 1 {
		t.Errorf("service user read %d times, want 1 (by b, which had not seen it)", loads)
	}

	fewer := []string{ScopeMetricsRead}
	if _, err := a.svc.UpdateUser(ctx, c.User.ID, UserPatch{Scopes: &fewer, Workloads: &[]string{"team-b"}}, by); err != nil {
		t.Fatal(err)
	}
	if acc, _ := access(a.guard); acc.HasScope(ScopePipelineWrite) || !acc.MayUse("team-b") || acc.MayUse("team-a") || !acc.TokenHasScope(ScopePipelineWrite) {
		t.Errorf("a, at once: %+v", acc.Scopes())
	}
	if acc, _ := access(b.guard); !acc.HasScope(ScopePipelineWrite) {
		t.Errorf("b changed before its Sync")
	}
	if err := b.guard.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if acc, _ := access(b.guard); acc.HasScope(ScopePipelineWrite) || !acc.MayUse("team-b") {
		t.Errorf("b after its Sync: %v", acc.Scopes())
	}
	off := true
	if _, err := a.svc.UpdateUser(ctx, c.User.ID, UserPatch{Disabled: &off}, by); err != nil {
		t.Fatal(err)
	}
	_ = b.guard.Sync(ctx)
	for _, g := range []*Guard{a.guard, b.guard} {
		if _, err := access(g); apperr.ReasonOf(err) != apperr.ServiceUserDisabled {
			t.Errorf("disabled: %v", err)
		}
	}
	if a.store.users.loads != loads {
		t.Errorf("changes cost %d service-user reads on the request path", a.store.users.loads-loads)
	}

	// A store whose feed counter went back (restored from a backup taken before the changes): b
	// reads it again from the start and acts as the store says, though its numbers are lower.
	a.store.mu.Lock()
	u := a.store.users.byID[c.User.ID]
	u.Disabled, u.Seq = false, 1
	a.store.users.byID[c.User.ID] = u
	a.store.users.seq = 1
	a.store.mu.Unlock()
	if err := b.guard.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if b.guard.users.cursor != 1 {
		t.Errorf("cursor after the restore: %d, want 1", b.guard.users.cursor)
	}
	if _, err := access(b.guard); err != nil {
		t.Errorf("b after the restore: %v, want the stored (enabled) service user", err)
	}
}
