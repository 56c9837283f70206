package store

import (
	"context"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/notify"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

// RevokeLeakedToken revokes a token reported leaked: the revocation of RevokeToken (the feed's
// next number, reason "leaked", the audit event), with a token.leaked notification in place of
// token.revoked, in one transaction. NotFound when the token is not active.
func (s *Store) RevokeLeakedToken(ctx context.Context, id string, at time.Time, by string, event func(token.Token) audit.Event) (token.Token, error) {
	return s.revokeToken(ctx, id, at, by, token.ReasonLeaked, event, notify.TokenLeaked)
}
