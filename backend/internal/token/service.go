package token

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/names"
	"github.com/golang-jwt/jwt/v5"
)

// Scopes a service token can hold; least privilege: tokens get metrics:read unless asked.
const (
	ScopeMetricsRead   = "metrics:read"
	ScopePipelineWrite = "pipeline:write"
	// ScopeTokensRotate lets a token rotate itself (POST /api/tokens/self/rotate): its
	// successor has exactly its scopes, this one included.
	ScopeTokensRotate = "tokens:rotate"
)

// KnownScopes lists every scope, in the order they are shown.
var KnownScopes = []string{ScopeMetricsRead, ScopePipelineWrite, ScopeTokensRotate}

// DefaultScopes are given to a token created without scopes.
var DefaultScopes = []string{ScopeMetricsRead}

// MaxSubjectLength is the longest subject, in characters.
const MaxSubjectLength = 100

// Audit actions written by this package.
const (
	ActionCreated = "token.created"
	ActionRevoked = "token.revoked"
	// ActionRotated is written with the successor's token.created, in the rotation's transaction.
	ActionRotated = "token.rotated"
	// ActionPurged is written once per purge batch of ended tokens (TOKEN_HISTORY_RETENTION).
	ActionPurged = "token.history_purged"
)

// Token is the metadata of a service token. The token value itself is never kept.
type Token struct {
	ID         string
	Subject    string
	Scopes     []string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	CreatedBy  string
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	RevokedBy  string

	// ServiceUserID is the service user the token belongs to (its Subject is that user's name).
	ServiceUserID int64
	// RevocationReason is why it was revoked, "" when no reason was given.
	RevocationReason string

	// Description says what the token is for ("" without one).
	Description string
	// Replaces is the id of the token this one succeeded by rotation, "" for a token created.
	Replaces string
	// ReplacedBy is the id of this token's successor, "" until it is rotated.
	ReplacedBy string
	// GraceEndsAt is when a rotated token stops working: the end of its grace period.
	GraceEndsAt *time.Time

	// LastUsedAddress and LastUsedUserAgent are the client of the last use ("" if none).
	LastUsedAddress, LastUsedUserAgent string
	// StillPresented is set once the token was presented after it stopped working.
	StillPresented *StillPresented
	// DailyRequests are its requests on each of the last RecentDays UTC days, oldest first,
	// today last (List, Get and Identify fill them).
	DailyRequests []int64
}

// RecentDays is how many days of requests the token list shows (dailyRequests30d).
const RecentDays = 30

// RecentRequests is the sum of DailyRequests.
func (t Token) RecentRequests() int64 {
	var n int64
	for _, d := range t.DailyRequests {
		n += d
	}
	return n
}

// Active reports whether the token is usable at now: neither revoked nor expired, and not past
// the grace period of a rotation.
func (t Token) Active(now time.Time) bool { return t.Status(now) == StatusActive || t.inGrace(now) }

func (t Token) inGrace(now time.Time) bool {
	return t.RevokedAt == nil && t.GraceEndsAt != nil && now.Before(*t.GraceEndsAt) && now.Before(t.ExpiresAt)
}

// StopsAt is the moment the token stops (or stopped) working: its expiry, the end of its grace
// period, or its revocation, whichever comes first.
func (t Token) StopsAt() time.Time {
	end := t.ExpiresAt
	if t.GraceEndsAt != nil && t.GraceEndsAt.Before(end) {
		end = *t.GraceEndsAt
	}
	if t.RevokedAt != nil && t.RevokedAt.Before(end) {
		end = *t.RevokedAt
	}
	return end
}

// Statuses of a token, as the list filters and shows them. One token has one status at a time:
// revoked (by a person, also a rotated token whose grace period was ended early), else rotated
// (it has a successor: in its grace period or past it), else expired, else active.
const (
	StatusActive  = "active"
	StatusExpired = "expired"
	StatusRevoked = "revoked"
	StatusRotated = "rotated"
	// StatusAll selects every status.
	StatusAll = "all"
)

// Statuses lists the statuses a token can have, in the order they are shown.
var Statuses = []string{StatusActive, StatusRotated, StatusExpired, StatusRevoked}

// Status is the token's status at now.
func (t Token) Status(now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return StatusRevoked
	case t.ReplacedBy != "":
		return StatusRotated
	case !now.Before(t.ExpiresAt):
		return StatusExpired
	}
	return StatusActive
}

// Revocation is one entry of the revocation feed.
type Revocation struct {
	Seq       int64
	TokenID   string
	ExpiresAt time.Time
	// RevokedAt tells an entry from one that took its place after a restore, even when the
	// same token was revoked again and got the same sequence number. Zero for a rotation.
	RevokedAt time.Time
	// EndsAt is, for the entry of a rotation (RevokedAt zero), when the grace period ends: the
	// token is refused from then on, on every instance, with no further entry.
	EndsAt time.Time
}

// rotation reports whether the entry is a rotation's (refused from EndsAt) rather than a
// revocation's (refused at once).
func (r Revocation) rotation() bool { return r.RevokedAt.IsZero() && !r.EndsAt.IsZero() }

func (r Revocation) same(o Revocation) bool {
	return r.Seq == o.Seq && r.TokenID == o.TokenID && r.RevokedAt.Equal(o.RevokedAt) && r.EndsAt.Equal(o.EndsAt)
}

// movedIn reports whether the entry r, a rotation's, is found further on in entries as the
// same token's revocation: ending a grace period early revokes the token, which gives its one
// entry the revocation's number. Only a rotation's entry ever moves.
func (r Revocation) movedIn(entries []Revocation) bool {
	if !r.rotation() || (len(entries) > 0 && entries[0].Seq <= r.Seq) {
		return false
	}
	return slices.ContainsFunc(entries, func(e Revocation) bool {
		return e.TokenID == r.TokenID && e.Seq > r.Seq && !e.RevokedAt.IsZero()
	})
}

// FeedPage is one read of the revocation feed.
type FeedPage struct {
	// Counter is the feed's counter: the sequence number the last revocation took.
	Counter int64
	// UserCounter is the service-user feed's counter, read in the same statement: while it
	// stays where the guard has read to, the service-user feed need not be read.
	UserCounter int64
	// Entries are in sequence order.
	Entries []Revocation
}

// Sort orders of a token list.
const (
	SortNewest   = "created" // newest first (the default)
	SortExpiring = "expires" // soonest expiry first
)

// ListQuery selects tokens. Limit 0 means all; After continues a page.
type ListQuery struct {
	Now time.Time
	// Statuses keeps the tokens with one of these statuses at Now; nil (or empty) keeps the
	// active ones, as the list always did.
	Statuses []string
	// Subject keeps tokens whose subject contains it, ignoring case.
	Subject string
	Sort    string
	Limit   int
	After   *Cursor

	// ServiceUserID, when set, keeps the tokens of that service user.
	ServiceUserID int64
	// Scope, when set, keeps the tokens holding that scope (a whole name of KnownScopes).
	Scope string
	// ExpiresBefore keeps the tokens expiring before it; UnusedSince those last used before
	// it or never used.
	ExpiresBefore, UnusedSince *time.Time
	// Stale, when set, keeps the stale tokens (true) or the others (false); see Token.Stale.
	Stale *bool
	// StaleBefore is Now less the service's stale period, set by the service.
	StaleBefore time.Time
}

// DefaultStaleAfter is STALE_AFTER's default: a token unused for that long is stale.
const DefaultStaleAfter = 90 * 24 * time.Hour

// Stale says whether t, active at now, has not been used since staleBefore (never used and
// created before it counts too). Tokens that are not active are never stale.
func (t Token) Stale(now, staleBefore time.Time) bool {
	if t.Status(now) != StatusActive {
		return false
	}
	if t.LastUsedAt != nil {
		return t.LastUsedAt.Before(staleBefore)
	}
	return t.CreatedAt.Before(staleBefore)
}

// SetStaleAfter sets how long a token must go unused to be stale (STALE_AFTER).
func (s *Service) SetStaleAfter(d time.Duration) { s.staleAfter = d }

// StaleBefore is the time before which a token's last use (or, never used, its creation) makes
// it stale at now.
func (s *Service) StaleBefore(now time.Time) time.Time { return now.Add(-s.staleAfter) }

// Cursor is the position after the last token of a page: its sort key and id.
type Cursor struct {
	At time.Time
	ID string
}

// CursorAfter returns the cursor that continues a list sorted by sort after t.
func CursorAfter(t Token, sort string) Cursor {
	if sort == SortExpiring {
		return Cursor{At: t.ExpiresAt, ID: t.ID}
	}
	return Cursor{At: t.CreatedAt, ID: t.ID}
}

// Store is what the token package needs from persistence.
type Store interface {
	// RevokeToken marks the active token id revoked (by whom, why: reason may be empty), takes
	// the next revocation sequence number and stores the audit event made by event and the
	// token.revoked notification, all in one transaction. NotFound when there is no active
	// token with that id.
	RevokeToken(ctx context.Context, id string, at time.Time, by, reason string, event func(Token) audit.Event) (Token, error)
	// RevokeTokens revokes the active tokens among ids as RevokeToken does each, in a few
	// transactions, and returns an outcome per id in order; with dryRun it changes nothing.
	RevokeTokens(ctx context.Context, ids []string, at time.Time, by, reason string, dryRun bool, event func(Token) audit.Event) ([]RevokeOutcome, error)
	// GetToken returns a token whatever its state; NotFound when there is none.
	GetToken(ctx context.Context, id string) (Token, error)
	// ListTokens returns the tokens q selects (its statuses at q.Now), in q's order.
	ListTokens(ctx context.Context, q ListQuery) ([]Token, error)
	// CountTokens counts what ListTokens would return without a limit.
	CountTokens(ctx context.Context, q ListQuery) (int64, error)
	// RotateToken rotates the active token id at at, in one transaction: it takes the next
	// revocation sequence number, reads the token and its service user, calls rotate, marks the
	// token replaced by the successor rotate made (its grace period ending at GraceEndsAt),
	// stores the successor, the audit events and the token.rotated notification. Conflict
	// (TokenAlreadyRotated, naming the successor) when the token already has one; NotFound when
	// there is no active token with that id.
	RotateToken(ctx context.Context, id string, at time.Time, rotate func(old Token, user ServiceUser) (Rotation, error)) (Rotation, error)
	// PurgeEndedTokens deletes up to limit tokens that stopped working before before (expired,
	// revoked, or past their grace period) and are past their expiry at now, with their
	// notification events and deliveries, and stores the audit event made of the ids deleted,
	// in one transaction. It never deletes the token holding the revocation feed's last entry
	// (the feed's cursor). It returns the ids.
	PurgeEndedTokens(ctx context.Context, now, before time.Time, limit int, event func(ids []string) audit.Event) ([]string, error)
	// PurgeNotifications deletes up to limit notification deliveries that were delivered or
	// failed before before, and the events (tests, or of tokens that no longer exist) left
	// without a delivery; it returns how many deliveries it deleted.
	PurgeNotifications(ctx context.Context, before time.Time, limit int) (int, error)
	// RevocationsFrom returns, in one statement, the feed's counter and up to limit revocations
	// with a sequence number of at least seq, in order.
	RevocationsFrom(ctx context.Context, seq int64, limit int) (FeedPage, error)
	// UnexpiredRevocations returns the revocations of tokens unexpired at now, in any order,
	// and the feed's last entry (zero when there is none), without reading the whole history.
	UnexpiredRevocations(ctx context.Context, now time.Time) (last Revocation, live []Revocation, err error)
	// SaveUsage writes what flushes counted, in one transaction: last-use times and their
	// clients (an older time never overwrites a newer), requests by day and client added to
	// what is stored (each token's clients cut to the MaxClients most recently seen), the
	// presentations of ended tokens added, and a token.ended_token_used notification for each
	// such token that had none within EndedNoticeEvery before now.
	SaveUsage(ctx context.Context, uses []Use, now time.Time) error
	// TokenUsage returns token id's requests on the days from from to to that have any, in
	// order, and its clients, most recently seen first.
	TokenUsage(ctx context.Context, id string, from, to time.Time) ([]DayUse, []ClientUse, error)
	// RecentRequests returns the requests by day, from the day of from on, of the tokens ids.
	RecentRequests(ctx context.Context, ids []string, from time.Time) (map[string][]DayUse, error)
	// PurgeUsage deletes usage older than before (days before its day, clients last seen
	// before it), limit tokens at a time; it returns how many rows it deleted.
	PurgeUsage(ctx context.Context, before time.Time, limit int) (int, error)
	UserStore
}

// Service issues, lists, rotates and revokes service tokens.
type Service struct {
	store Store
	keys  *Keyring
	guard *Guard
	ttl   time.Duration
	now   func() time.Time
	// grace is the default grace period of a rotation; retention how long ended tokens stay.
	grace, retention time.Duration
	// staleAfter is how long a token must go unused to be stale.
	staleAfter time.Duration
	// usageRetention is how long usage is kept (PurgeUsage).
	usageRetention time.Duration
}

// NewService returns a token service. guard, when set, learns of revocations made here at once.
// Rotations have a grace period of DefaultGracePeriod unless SetLifecycle says otherwise.
func NewService(store Store, keys *Keyring, guard *Guard, ttl time.Duration, now func() time.Time) *Service {
	return &Service{store: store, keys: keys, guard: guard, ttl: ttl, now: now, grace: DefaultGracePeriod, retention: DefaultHistoryRetention, staleAfter: DefaultStaleAfter, usageRetention: DefaultUsageRetention}
}

// SetLifecycle sets the default grace period of a rotation (ROTATION_GRACE_PERIOD; 0 ends the
// old token at once) and how long ended tokens stay in the history (TOKEN_HISTORY_RETENTION);
// a negative grace period or a retention that is not positive keeps the default.
func (s *Service) SetLifecycle(grace, retention time.Duration) {
	if grace >= 0 {
		s.grace = grace
	}
	if retention > 0 {
		s.retention = retention
	}
}

// CreateRequest is what a caller asks for when creating a token.
type CreateRequest struct {
	// Subject names the token's service user, which is created when there is none.
	Subject string
	// Scopes narrow the service user's (nil or empty: DefaultScopes); for a new service user
	// they are its scopes.
	Scopes []string
	// Workloads are a new service user's workloads (nil: not sent). For an existing one they
	// may only repeat its own.
	Workloads []string
	CreatedBy string
	// Audit says how CreatedBy acted (credential, client address, request id) for the
	// token.created event; the event's actor is always CreatedBy.
	Audit audit.Context
	// TTL overrides the configured lifetime when positive (the command line's --ttl).
	TTL time.Duration
	// ExpiresIn is the lifetime asked for ("30d", "2160h"; "" for SERVICE_TOKEN_TTL), which
	// SERVICE_TOKEN_TTL bounds (the API's "expiresIn", the command line's --expires-in).
	ExpiresIn string
	// Description says what the token is for (up to MaxTokenDescriptionLength characters).
	Description string
}

// Created is a newly issued token: the only time its value exists outside the caller.
type Created struct {
	Token Token
	Value string
	// User is the token's service user; NewUser says it was created for this token.
	User    ServiceUser
	NewUser bool
}

// Create issues a token for the service user named by the subject, creating the service user
// when there is none: the service user (if new), the token's metadata and their audit events
// are stored in one transaction, and only then is the signed token returned.
func (s *Service) Create(ctx context.Context, req CreateRequest) (Created, error) {
	subject, err := NormalizeSubject(req.Subject)
	if err != nil {
		return Created{}, err
	}
	var asked []string
	if len(req.Scopes) > 0 {
		if asked, err = NormalizeScopes(req.Scopes); err != nil {
			return Created{}, err
		}
	}
	var workloads []string
	if req.Workloads != nil {
		if workloads, err = NormalizeWorkloads(req.Workloads); err != nil {
			return Created{}, err
		}
	}
	ttl := s.ttl
	if req.TTL > 0 {
		ttl = req.TTL
	}
	if req.ExpiresIn != "" {
		if ttl, err = s.lifetime(req.ExpiresIn); err != nil {
			return Created{}, err
		}
	}
	desc, err := NormalizeTokenDescription(req.Description)
	if err != nil {
		return Created{}, err
	}
	id, err := NewID()
	if err != nil {
		return Created{}, apperr.Wrap(err, apperr.Internal, "generate token id")
	}
	// Whole seconds: the JWT carries seconds, and the database must agree with it.
	now := s.now().UTC().Truncate(time.Second)
	by := req.Audit
	by.Actor = req.CreatedBy
	var out Created
	user, err := s.store.IssueToken(ctx, subject, func(u *ServiceUser) (Issue, error) {
		var is Issue
		if u == nil {
			scopes := asked
			if scopes == nil {
				scopes = slices.Clone(DefaultScopes)
			}
			nu, err := newUser(UserRequest{Name: subject, Scopes: scopes, Workloads: workloads},
				fmt.Sprintf("there is no service user %q yet, and \"workloads\" is required to create it with %s", subject, ScopePipelineWrite))
			if err != nil {
				return Issue{}, err
			}
			nu.CreatedAt, nu.CreatedBy, nu.UpdatedAt, nu.UpdatedBy = now, req.CreatedBy, now, req.CreatedBy
			is.NewUser, u = &nu, &nu
			is.UserEvent = func(u ServiceUser) audit.Event { return by.Event(now, ActionUserCreated, u.Name, userDetails(u)) }
		} else {
			if u.Disabled {
				return Issue{}, apperr.New(apperr.Conflict, "service user %q is disabled: enable it before issuing tokens for it", u.Name)
			}
			if workloads != nil && !slices.Equal(workloads, u.Workloads) {
				return Issue{}, apperr.New(apperr.InvalidField, "service user %q exists with workloads %s: a token has its service user's workloads; change them on the service user (PATCH /api/service-users/%d)",
					u.Name, strings.Join(u.Workloads, ", "), u.ID)
			}
		}
		scopes, err := tokenScopes(*u, asked)
		if err != nil {
			return Issue{}, err
		}
		t := Token{
			ID: id, Subject: subject, Scopes: scopes, ServiceUserID: u.ID,
			CreatedAt: now, ExpiresAt: now.Add(ttl), CreatedBy: req.CreatedBy, Description: desc,
		}
		value, err := s.keys.Sign(&Claims{
			ID: id, Subject: subject, Issuer: s.keys.Issuer(), Audience: Audience,
			IssuedAt: jwt.NewNumericDate(t.CreatedAt), ExpiresAt: jwt.NewNumericDate(t.ExpiresAt),
			TokenUse: UseService, Scope: strings.Join(scopes, " "),
		})
		if err != nil {
			return Issue{}, apperr.Wrap(err, apperr.Internal, "sign token")
		}
		is.Token = t
		details := map[string]any{"subject": subject, "scopes": scopes, "expires": t.ExpiresAt.Format(time.RFC3339)}
		if desc != "" {
			details["description"] = desc
		}
		is.Events = append(is.Events, by.Event(now, ActionCreated, id, details))
		out = Created{Token: t, Value: value, NewUser: is.NewUser != nil}
		return is, nil
	})
	if err != nil {
		return Created{}, err
	}
	out.Token.ServiceUserID, out.User = user.ID, user
	s.learn(user)
	return out, nil
}

// List returns the tokens q selects (active ones by default), newest first by default.
func (s *Service) List(ctx context.Context, q ListQuery) ([]Token, error) {
	if err := s.checkList(&q); err != nil {
		return nil, err
	}
	tokens, err := s.store.ListTokens(ctx, q)
	if err != nil {
		return nil, err
	}
	return tokens, s.addRecent(ctx, tokens)
}

// addRecent fills the tokens' DailyRequests, in one read.
func (s *Service) addRecent(ctx context.Context, tokens []Token) error {
	if len(tokens) == 0 {
		return nil
	}
	today := DayOf(s.now())
	from := today.AddDate(0, 0, 1-RecentDays)
	ids := make([]string, len(tokens))
	for i, t := range tokens {
		ids[i] = t.ID
	}
	byID, err := s.store.RecentRequests(ctx, ids, from)
	if err != nil {
		return err
	}
	// One backing array for the whole page.
	all := make([]int64, len(tokens)*RecentDays)
	for i := range tokens {
		daily := all[i*RecentDays : (i+1)*RecentDays : (i+1)*RecentDays]
		for _, d := range byID[tokens[i].ID] {
			if n := int(d.Day.Sub(from).Hours() / 24); n >= 0 && n < RecentDays {
				daily[n] += d.Requests
			}
		}
		tokens[i].DailyRequests = daily
	}
	return nil
}

// Count counts the tokens q selects, ignoring its limit and cursor.
func (s *Service) Count(ctx context.Context, q ListQuery) (int64, error) {
	if err := s.checkList(&q); err != nil {
		return 0, err
	}
	q.After, q.Limit = nil, 0
	return s.store.CountTokens(ctx, q)
}

func (s *Service) checkList(q *ListQuery) error {
	q.Now = s.now()
	q.StaleBefore = s.StaleBefore(q.Now)
	if q.Scope != "" && !slices.Contains(KnownScopes, q.Scope) {
		return apperr.New(apperr.InvalidParameter, "scope must be one of %s", strings.Join(KnownScopes, ", "))
	}
	statuses, err := ParseStatuses(q.Statuses)
	if err != nil {
		return err
	}
	q.Statuses = statuses
	switch q.Sort {
	case "":
		q.Sort = SortNewest
	case SortNewest, SortExpiring:
	default:
		return apperr.New(apperr.InvalidParameter, "sort must be %q (newest first) or %q (soonest expiry first)", SortNewest, SortExpiring)
	}
	if utf8.RuneCountInString(q.Subject) > MaxSubjectLength || !utf8.ValidString(q.Subject) {
		return apperr.New(apperr.InvalidParameter, "subject filter must be valid text of at most %d characters", MaxSubjectLength)
	}
	return nil
}

// Get returns one token's metadata, whatever its state.
func (s *Service) Get(ctx context.Context, id string) (Token, error) {
	return s.store.GetToken(ctx, id)
}

// Show returns one token as the list shows it, whatever its state: with its recent requests.
func (s *Service) Show(ctx context.Context, id string) (Token, error) {
	t, err := s.store.GetToken(ctx, id)
	if err != nil {
		return Token{}, err
	}
	one := []Token{t}
	err = s.addRecent(ctx, one)
	return one[0], err
}

// Revoke revokes an active token. Once it returns, this instance refuses the token; other
// instances sharing the database do within one poll of the revocation feed. by.Actor is
// recorded as the token's revoker, with reason (optional, up to MaxReasonLength characters);
// the whole of by goes into the token.revoked event.
func (s *Service) Revoke(ctx context.Context, id string, by audit.Context, reason string) (Token, error) {
	reason, err := NormalizeReason(reason)
	if err != nil {
		return Token{}, err
	}
	if !validID(id) {
		return Token{}, apperr.New(apperr.NotFound, "no active token with that id")
	}
	now := s.now().UTC()
	t, err := s.store.RevokeToken(ctx, id, now, by.Actor, reason, revokedEvent(now, by, reason))
	if err != nil {
		return Token{}, err
	}
	if s.guard != nil {
		s.guard.MarkRevoked(t.ID, t.ExpiresAt)
	}
	return t, nil
}

// revokedEvent makes the token.revoked event of a revocation by by at now.
func revokedEvent(now time.Time, by audit.Context, reason string) func(Token) audit.Event {
	return func(t Token) audit.Event {
		details := map[string]any{"subject": t.Subject}
		if reason != "" {
			details["reason"] = reason
		}
		return by.Event(now, ActionRevoked, t.ID, details)
	}
}

// The outcomes of a bulk revocation, per id.
const (
	RevokeDone         = "revoked"
	RevokeAlreadyEnded = "already_ended"
	RevokeNotFound     = "not_found"
)

// MaxBulkRevoke is how many ids one bulk revocation takes.
const MaxBulkRevoke = 1000

// RevokeOutcome is what a bulk revocation did (or, dry, would do) to one id.
type RevokeOutcome struct {
	ID     string
	Status string
	Token  Token // when revoked
}

// RevokeMany revokes the active tokens among ids (1 to MaxBulkRevoke, no duplicates) as Revoke
// does each, or with dryRun says what it would do; outcomes in the order of ids.
func (s *Service) RevokeMany(ctx context.Context, ids []string, by audit.Context, reason string, dryRun bool) ([]RevokeOutcome, error) {
	reason, err := NormalizeReason(reason)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 || len(ids) > MaxBulkRevoke {
		return nil, apperr.New(apperr.InvalidField, "ids must hold 1 to %d token ids", MaxBulkRevoke)
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return nil, apperr.New(apperr.InvalidField, "ids holds %q twice: send each id once", id)
		}
		seen[id] = true
	}
	now := s.now().UTC()
	out, err := s.store.RevokeTokens(ctx, ids, now, by.Actor, reason, dryRun, revokedEvent(now, by, reason))
	if err != nil {
		return nil, err
	}
	if s.guard != nil && !dryRun {
		for _, o := range out {
			if o.Status == RevokeDone {
				s.guard.MarkRevoked(o.Token.ID, o.Token.ExpiresAt)
			}
		}
	}
	return out, nil
}

// NewID returns a random token id: 128 bits, base64url.
func NewID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// validID reports whether id could be one of ours, so junk never reaches the database.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// NormalizeSubject trims the subject and checks it: 1 to 100 characters, no control characters.
func NormalizeSubject(s string) (string, error) {
	return normalizeName("subject", "name the service or application that will use the token", s)
}

// normalizeName checks a subject or a service user's name (the same rules: a token's subject is
// its service user's name), naming field in its messages; hint says what to send when it is empty.
func normalizeName(field, hint, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", apperr.New(apperr.InvalidField, "%s must be valid UTF-8 text", field)
	}
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return "", apperr.New(apperr.InvalidField, "%s is required: %s (1 to %d characters)", field, hint, MaxSubjectLength)
	}
	if n > MaxSubjectLength {
		return "", apperr.New(apperr.InvalidField, "%s is %d characters long: use at most %d", field, n, MaxSubjectLength)
	}
	// Shown in the portal and the audit log: what is seen must be what is there.
	if err := names.CheckVisible(s); err != nil {
		return "", apperr.New(apperr.InvalidField, "%s must hold only visible characters: no control characters, line breaks, bidirectional controls or invisible (zero-width) characters (found: %v)", field, err)
	}
	for _, r := range s {
		if r == utf8.RuneError {
			// What JSON decoding makes of invalid UTF-8 and lone surrogates ("\ud800").
			return "", apperr.New(apperr.InvalidField, "%s must be valid UTF-8 text: it contains an invalid character (U+FFFD)", field)
		}
	}
	return s, nil
}

// MaxReasonLength is the longest revocation reason, in characters.
const MaxReasonLength = 200

// NormalizeReason trims a revocation reason and checks it: at most MaxReasonLength characters
// of visible text (it is shown in the portal, the audit log and notifications).
func NormalizeReason(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", apperr.New(apperr.InvalidParameter, "reason must be valid UTF-8 text")
	}
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n > MaxReasonLength {
		return "", apperr.New(apperr.InvalidParameter, "reason is %d characters long: use at most %d", n, MaxReasonLength)
	}
	if err := names.CheckVisible(s); err != nil || strings.ContainsRune(s, utf8.RuneError) {
		return "", apperr.New(apperr.InvalidParameter, "reason must hold only visible characters on one line: no control characters, line breaks, bidirectional controls or invisible (zero-width) characters")
	}
	return s, nil
}

// NormalizeScopes checks scopes against KnownScopes, drops duplicates and applies the default.
func NormalizeScopes(scopes []string) ([]string, error) {
	if len(scopes) == 0 {
		return append([]string(nil), DefaultScopes...), nil
	}
	want := map[string]bool{}
	for _, s := range scopes {
		if !isKnownScope(s) {
			return nil, apperr.New(apperr.InvalidField, "unknown scope %q: use %s", s, strings.Join(KnownScopes, " or "))
		}
		want[s] = true
	}
	var out []string
	for _, s := range KnownScopes {
		if want[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

func isKnownScope(s string) bool {
	for _, k := range KnownScopes {
		if s == k {
			return true
		}
	}
	return false
}
