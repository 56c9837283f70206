package token

import (
	"context"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
)

// TestGraceEndThroughTheFeed: another instance learns of a rotation from the feed and refuses
// the old token from the very nanosecond its grace period ends, with no database look-up; a
// revocation that ends a grace period early moves the token's feed entry, which an instance
// whose cursor was that entry reads on without a reset.
func TestGraceEndThroughTheFeed(t *testing.T) {
	ctx := context.Background()
	a := newFixture(t)
	b := a.otherInstance(t, GuardOptions{MaxStaleness: time.Hour * 2})
	c := a.create(t, CreateRequest{Subject: "ci", CreatedBy: "a"})
	if _, err := b.Verify(ctx, c.Value); err != nil {
		t.Fatal(err)
	}
	rot, err := a.svc.Rotate(ctx, RotateRequest{ID: c.Token.ID, GracePeriod: "1h", By: audit.Context{Actor: "admin"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.Rotate(ctx, RotateRequest{ID: c.Token.ID, By: audit.Context{Actor: "admin"}}); apperr.ReasonOf(err) != apperr.TokenAlreadyRotated {
		t.Errorf("second rotation: %v", err)
	}
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	a.clk.t = rot.GraceEndsAt.Add(-time.Nanosecond)
	_, acc, err := b.VerifyAccess(ctx, c.Value)
	if err != nil || !acc.StopsAt().Equal(rot.GraceEndsAt) {
		t.Fatalf("a nanosecond before the grace end: %v, stops at %s, want %s", err, acc.StopsAt(), rot.GraceEndsAt)
	}
	gets := a.store.gets // the one above re-read the row: the recheck interval had passed
	if _, _, err := b.VerifyAccess(ctx, c.Value); err != nil {
		t.Fatal(err)
	}
	a.clk.t = rot.GraceEndsAt
	if _, err := b.Verify(ctx, c.Value); apperr.ReasonOf(err) != apperr.TokenRotated {
		t.Errorf("at the grace end: %v, want token_rotated", err)
	}
	if a.store.gets != gets {
		t.Errorf("%d look-ups to admit, then refuse a token the feed described", a.store.gets-gets)
	}

	d, _ := a.svc.Create(ctx, CreateRequest{Subject: "ci", CreatedBy: "a"})
	if _, err := a.svc.Rotate(ctx, RotateRequest{ID: d.Token.ID, GracePeriod: "1h", By: audit.Context{Actor: "admin"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Sync(ctx); err != nil { // b's cursor is d's rotation
		t.Fatal(err)
	}
	if _, err := a.svc.Revoke(ctx, d.Token.ID, audit.Context{Actor: "admin"}, "ended early"); err != nil {
		t.Fatal(err)
	}
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.FeedResets(); n != 0 {
		t.Errorf("%d feed resets for a moved entry", n)
	}
	if _, err := b.Verify(ctx, d.Value); apperr.ReasonOf(err) != apperr.TokenRevoked {
		t.Errorf("after the early end: %v, want token_revoked", err)
	}
	// News of the grace end arriving after the revocation never makes the token live longer.
	b.MarkEnding(d.Token.ID, d.Token.ExpiresAt, a.clk.t.Add(time.Hour))
	if _, err := b.Verify(ctx, d.Value); apperr.ReasonOf(err) != apperr.TokenRevoked {
		t.Errorf("after stale news: %v", err)
	}
}
