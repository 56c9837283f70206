package token

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/names"
	"github.com/golang-jwt/jwt/v5"
)

// Rotation and history: a token is rotated into a successor with the same service user,
// scopes, description and lifetime, and keeps working until its grace period ends; then every
// instance refuses it (token_rotated) with nobody acting, because the rotation put an entry
// with that moment in the revocation feed. Ended tokens stay in the history for the retention
// period, then are purged.

// Defaults and bounds of the lifecycle.
const (
	// DefaultGracePeriod is ROTATION_GRACE_PERIOD's default.
	DefaultGracePeriod = 24 * time.Hour
	// MaxGracePeriod is the longest grace period a rotation may ask for.
	MaxGracePeriod = 7 * 24 * time.Hour
	// DefaultHistoryRetention is TOKEN_HISTORY_RETENTION's default.
	DefaultHistoryRetention = 400 * 24 * time.Hour
	// MinLifetime is the shortest lifetime a token may be created with.
	MinLifetime = time.Minute
	// MaxTokenDescriptionLength is the longest description of a token, in characters.
	MaxTokenDescriptionLength = 500
	// PurgeBatch is how many ended tokens one purge statement deletes at most.
	PurgeBatch = 200
)

// ParseSpan reads a span of time as the API and the configuration write it: a whole number of
// days ("30d") or a Go duration ("2160h", "90m").
func ParseSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 || strings.HasPrefix(days, "+") {
			return 0, fmt.Errorf("want a whole number of days such as \"30d\", or a duration such as \"2160h\"")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a whole number of days such as \"30d\", or a duration such as \"2160h\"")
	}
	return d, nil
}

// lifetime reads expiresIn: at least MinLifetime, at most SERVICE_TOKEN_TTL.
func (s *Service) lifetime(expiresIn string) (time.Duration, error) {
	d, err := ParseSpan(expiresIn)
	if err != nil {
		return 0, apperr.New(apperr.InvalidField, "expiresIn %q is not a lifetime: %v", names.Truncate(expiresIn, 40), err)
	}
	if d < MinLifetime {
		return 0, apperr.New(apperr.InvalidField, "expiresIn %q is too short: a token lives at least one minute", names.Truncate(expiresIn, 40))
	}
	if d > s.ttl {
		return 0, apperr.New(apperr.InvalidField, "expiresIn %q is longer than SERVICE_TOKEN_TTL (%s), the longest lifetime a token may have here: ask for %s or less",
			names.Truncate(expiresIn, 40), formatSpan(s.ttl), formatSpan(s.ttl))
	}
	return d, nil
}

// formatSpan writes d as days when it is a whole number of them, else as a Go duration.
func formatSpan(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}

// NormalizeTokenDescription trims a token's description and checks it: at most
// MaxTokenDescriptionLength characters of visible text on one line.
func NormalizeTokenDescription(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", apperr.New(apperr.InvalidField, "description must be valid UTF-8 text")
	}
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n > MaxTokenDescriptionLength {
		return "", apperr.New(apperr.InvalidField, "description is %d characters long: use at most %d", n, MaxTokenDescriptionLength)
	}
	if err := names.CheckVisible(s); err != nil || strings.ContainsRune(s, utf8.RuneError) {
		return "", apperr.New(apperr.InvalidField, "description must hold only visible characters on one line: no control characters, line breaks, bidirectional controls or invisible (zero-width) characters")
	}
	return s, nil
}

// ParseStatuses checks the statuses of a list filter: nil or empty is active; "all" is every
// status; duplicates go. The result is in Statuses order.
func ParseStatuses(in []string) ([]string, error) {
	if len(in) == 0 {
		return []string{StatusActive}, nil
	}
	want := map[string]bool{}
	for _, st := range in {
		switch {
		case st == StatusAll:
			return slices.Clone(Statuses), nil
		case slices.Contains(Statuses, st):
			want[st] = true
		default:
			return nil, apperr.New(apperr.InvalidParameter, "status %q is not one of %s or %s (several may be given, separated by commas)",
				names.Truncate(st, 40), strings.Join(Statuses, ", "), StatusAll)
		}
	}
	var out []string
	for _, st := range Statuses {
		if want[st] {
			out = append(out, st)
		}
	}
	return out, nil
}

// Rotation is what a rotation made: the successor and its value, and when the old token stops.
type Rotation struct {
	Old       Token
	Successor Token
	// Value is the successor's token value: returned once, never stored.
	Value string
	// GraceEndsAt is when the old token stops working.
	GraceEndsAt time.Time
	// Events are the audit events stored with the rotation.
	Events []audit.Event
}

// RotateRequest asks for a rotation.
type RotateRequest struct {
	// ID is the token to rotate.
	ID string
	// GracePeriod is how long the old token keeps working ("24h", "2d"; "" for the default).
	GracePeriod string
	// By is who rotates (an administrator, the command line, or the token itself: "token:<id>").
	By audit.Context
}

// Rotate issues a successor to an active token and ends the old one when its grace period is
// over: at the grace period asked for (at most MaxGracePeriod), never after its expiry. The
// successor has the old token's service user, scopes, description and lifetime (its expiry
// minus its issue time, at most SERVICE_TOKEN_TTL as it is now). A token that already has a
// successor is not rotated again: Conflict naming the successor, and nothing changes, so a
// retried rotation never ends the token the first one made.
func (s *Service) Rotate(ctx context.Context, req RotateRequest) (Rotation, error) {
	grace := s.grace
	if strings.TrimSpace(req.GracePeriod) != "" {
		d, err := ParseSpan(req.GracePeriod)
		if err != nil {
			return Rotation{}, apperr.New(apperr.InvalidField, "gracePeriod %q is not a period: %v", names.Truncate(req.GracePeriod, 40), err)
		}
		if d < 0 || d > MaxGracePeriod {
			return Rotation{}, apperr.New(apperr.InvalidField, "gracePeriod %q is out of range: from 0s (the old token stops at once) to 7d (168h)", names.Truncate(req.GracePeriod, 40))
		}
		grace = d
	}
	if !validID(req.ID) {
		return Rotation{}, apperr.New(apperr.NotFound, "no active token with that id")
	}
	id, err := NewID()
	if err != nil {
		return Rotation{}, apperr.Wrap(err, apperr.Internal, "generate token id")
	}
	now := s.now().UTC().Truncate(time.Second)
	by := req.By
	rot, err := s.store.RotateToken(ctx, req.ID, now, func(old Token, user ServiceUser) (Rotation, error) {
		if user.Deleted {
			return Rotation{}, apperr.New(apperr.NotFound, "no active token with that id")
		}
		if user.Disabled {
			return Rotation{}, apperr.New(apperr.Conflict, "service user %q is disabled: enable it before rotating its tokens", user.Name)
		}
		lifetime := min(old.ExpiresAt.Sub(old.CreatedAt), s.ttl)
		ends := now.Add(grace)
		if old.ExpiresAt.Before(ends) {
			ends = old.ExpiresAt
		}
		next := Token{
			ID: id, Subject: old.Subject, Scopes: slices.Clone(old.Scopes), ServiceUserID: old.ServiceUserID,
			CreatedAt: now, ExpiresAt: now.Add(lifetime), CreatedBy: by.Actor,
			Description: old.Description, Replaces: old.ID,
		}
		value, err := s.keys.Sign(&Claims{
			ID: id, Subject: next.Subject, Issuer: s.keys.Issuer(), Audience: Audience,
			IssuedAt: jwt.NewNumericDate(next.CreatedAt), ExpiresAt: jwt.NewNumericDate(next.ExpiresAt),
			TokenUse: UseService, Scope: strings.Join(next.Scopes, " "),
		})
		if err != nil {
			return Rotation{}, apperr.Wrap(err, apperr.Internal, "sign token")
		}
		created := map[string]any{"subject": next.Subject, "scopes": next.Scopes, "expires": next.ExpiresAt.Format(time.RFC3339), "replaces": old.ID}
		if next.Description != "" {
			created["description"] = next.Description
		}
		return Rotation{
			Old: old, Successor: next, Value: value, GraceEndsAt: ends,
			Events: []audit.Event{
				by.Event(now, ActionRotated, old.ID, map[string]any{
					"subject": old.Subject, "successor": id, "graceEnds": ends.Format(time.RFC3339),
				}),
				by.Event(now, ActionCreated, id, created),
			},
		}, nil
	})
	if err != nil {
		return Rotation{}, err
	}
	if s.guard != nil {
		s.guard.MarkEnding(rot.Old.ID, rot.Old.ExpiresAt, rot.GraceEndsAt)
	}
	return rot, nil
}

// PurgeHistory deletes the tokens that stopped working more than the retention period ago,
// PurgeBatch at a time, one audit event per batch naming the tokens deleted, until none is
// left; then the delivered or failed notifications older than the retention period. It returns
// how many tokens it deleted.
func (s *Service) PurgeHistory(ctx context.Context) (int, error) {
	now := s.now().UTC()
	before := now.Add(-s.retention)
	total := 0
	for ctx.Err() == nil {
		ids, err := s.store.PurgeEndedTokens(ctx, now, before, PurgeBatch, func(ids []string) audit.Event {
			return audit.Event{
				At: now, Actor: "system", Action: ActionPurged, Target: strconv.Itoa(len(ids)) + " tokens",
				Credential: "retention",
				Details: map[string]any{"tokens": ids, "endedBefore": before.Format(time.RFC3339), "retention": formatSpan(s.retention)},
			}
		})
		total += len(ids)
		if err != nil {
			return total, err
		}
		if len(ids) < PurgeBatch {
			break
		}
	}
	for ctx.Err() == nil {
		n, err := s.store.PurgeNotifications(ctx, before, 1000)
		if err != nil {
			return total, err
		}
		if n < 1000 {
			break
		}
	}
	return total, ctx.Err()
}
