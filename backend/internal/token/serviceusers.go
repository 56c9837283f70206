package token

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/names"
	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
)

// AllWorkloads, as a service user's only workload, grants every workload, present and future.
const AllWorkloads = "*"

// Limits of a service user's fields.
const (
	MaxDescriptionLength = 500
	MaxUserWorkloads     = 200
)

// Audit actions on service users.
const (
	ActionUserCreated  = "service_user.created"
	ActionUserUpdated  = "service_user.updated"
	ActionUserDisabled = "service_user.disabled"
	ActionUserEnabled  = "service_user.enabled"
	ActionUserDeleted  = "service_user.deleted"
)

// ServiceUser is an identity made for automation, not a person: each of its tokens acts as it,
// and what it may do (its scopes and workloads, or nothing while disabled) applies to all of
// them at once, as it is stored now.
type ServiceUser struct {
	ID          int64
	Name        string
	Description string
	Scopes      []string
	// Workloads are the names of the workloads it may record runs into and read, sorted (they
	// need not exist yet), or [AllWorkloads].
	Workloads []string
	// AllowedCIDRs are the networks its tokens may be used from, canonical and sorted (see
	// NormalizeCIDRs); empty: anywhere.
	AllowedCIDRs []string
	Disabled     bool
	// NeedsReview marks a service user made by the migration from a subject's tokens, until an
	// administrator edits it.
	NeedsReview bool
	CreatedAt   time.Time
	CreatedBy   string
	UpdatedAt   time.Time
	UpdatedBy   string
	// Seq is the number of the service-user feed its last change took.
	Seq int64
	// Deleted service users stay as rows (their revoked tokens and their runs name them); the
	// API never shows them.
	Deleted bool
	// TokenCount counts its active tokens and LastUsedAt is its tokens' latest use (nil when none
	// was used); filled by GetUser and ListUsers only.
	TokenCount int64
	LastUsedAt *time.Time
}

// AllowsAllWorkloads reports whether the service user holds every workload.
func (u ServiceUser) AllowsAllWorkloads() bool {
	return len(u.Workloads) == 1 && u.Workloads[0] == AllWorkloads
}

// HasScope reports whether the service user holds scope.
func (u ServiceUser) HasScope(scope string) bool { return slices.Contains(u.Scopes, scope) }

// UserListQuery selects live service users, by name. Limit 0 means all; After continues a page.
type UserListQuery struct {
	// Name keeps the service users whose name contains it, ignoring case.
	Name  string
	Now   time.Time // what "active" means for the token counts
	Limit int
	After *UserCursor
}

// UserCursor is the position after the last service user of a page.
type UserCursor struct {
	Name string
	ID   int64
}

// UserFeedPage is one read of the service-user feed.
type UserFeedPage struct {
	// Counter is the number the last change took.
	Counter int64
	// Users are the service users changed after the number read from, in the order of their
	// last change, deleted ones included.
	Users []ServiceUser
}

// Issue is what a token's issuance stores, in one transaction.
type Issue struct {
	// NewUser, when set, is stored first (the store gives it its id and feed number), with the
	// event UserEvent makes of it as stored.
	NewUser   *ServiceUser
	UserEvent func(ServiceUser) audit.Event
	// Token is stored with the service user's id.
	Token  Token
	Events []audit.Event
}

// UserStore is what service users need from persistence. Every change takes the next number of
// the service-user feed inside its transaction.
type UserStore interface {
	// IssueToken calls issue with the live service user named name (nil when there is none) and
	// stores what it returns in one transaction; it returns the token's service user as stored.
	IssueToken(ctx context.Context, name string, issue func(existing *ServiceUser) (Issue, error)) (ServiceUser, error)
	// CreateServiceUser stores a new service user and the event made by event; Conflict when a
	// live service user has its name.
	CreateServiceUser(ctx context.Context, u ServiceUser, event func(ServiceUser) audit.Event) (ServiceUser, error)
	// UpdateServiceUser calls change with the live service user id and stores the user and the
	// event it returns, in one transaction; NotFound when there is no such live user.
	UpdateServiceUser(ctx context.Context, id int64, change func(ServiceUser) (ServiceUser, audit.Event, error)) (ServiceUser, error)
	// DeleteServiceUser calls events with the live service user id and its tokens active at at;
	// unless it fails, it revokes those tokens (each taking the next revocation number, revoked
	// by by), marks the user deleted and stores the events, in one transaction.
	DeleteServiceUser(ctx context.Context, id int64, at time.Time, by string, events func(ServiceUser, []Token) ([]audit.Event, error)) (ServiceUser, []Token, error)
	// GetServiceUser returns a live service user with its token count (tokens active at now)
	// and last use; NotFound when there is none.
	GetServiceUser(ctx context.Context, id int64, now time.Time) (ServiceUser, error)
	ListServiceUsers(ctx context.Context, q UserListQuery) ([]ServiceUser, error)
	// CountServiceUsers counts what ListServiceUsers would return without a limit or cursor.
	CountServiceUsers(ctx context.Context, q UserListQuery) (int64, error)
	// LoadServiceUser returns a service user's row whatever its state, in one statement.
	LoadServiceUser(ctx context.Context, id int64) (ServiceUser, error)
	// ServiceUserChanges returns, in one statement, the feed's counter and up to limit service
	// users whose last change took a number above after, in that order.
	ServiceUserChanges(ctx context.Context, after int64, limit int) (UserFeedPage, error)
}

// UserRequest creates a service user.
type UserRequest struct {
	Name        string
	Description string
	Scopes      []string // nil: DefaultScopes
	Workloads   []string // nil: not sent (every workload for a read-only user, else an error)
	// AllowedCIDRs bind its tokens to networks (nil or empty: anywhere).
	AllowedCIDRs []string
}

// UserPatch changes a service user; nil fields stay as they are.
type UserPatch struct {
	Description *string
	Scopes      *[]string
	Workloads   *[]string
	Disabled    *bool
	// AllowedCIDRs replaces the networks (an empty list: anywhere).
	AllowedCIDRs *[]string
}

// NormalizeWorkloads checks a list of workload names and sorts it without duplicates:
// workload names (see pipeline) or [AllWorkloads] alone, 1 to MaxUserWorkloads of them.
func NormalizeWorkloads(list []string) ([]string, error) {
	if len(list) == 0 {
		return nil, apperr.New(apperr.InvalidField, "workloads must name at least one workload, or be [%q] for every workload", AllWorkloads)
	}
	if slices.Contains(list, AllWorkloads) {
		if len(list) > 1 {
			return nil, apperr.New(apperr.InvalidField, "workloads is either [%q] (every workload) or a list of workload names, not both", AllWorkloads)
		}
		return []string{AllWorkloads}, nil
	}
	out := slices.Clone(list)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxUserWorkloads {
		return nil, apperr.New(apperr.InvalidField, "workloads names %d workloads: at most %d, or [%q] for every workload", len(out), MaxUserWorkloads, AllWorkloads)
	}
	for _, w := range out {
		if err := pipeline.CheckWorkloadName(w); err != nil {
			return nil, apperr.New(apperr.InvalidField, "workloads: %q is not a workload name: %s", names.Truncate(w, 100), apperr.MessageOf(err))
		}
	}
	return out, nil
}

// NormalizeName checks a service user's name: the rules of a token's subject, which it is.
func NormalizeName(s string) (string, error) {
	return normalizeName("name", "name the service user, such as the pipeline or application that will use its tokens", s)
}

func normalizeDescription(s string) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n > MaxDescriptionLength {
		return "", apperr.New(apperr.InvalidField, "description is %d characters long: use at most %d", n, MaxDescriptionLength)
	}
	if err := names.CheckVisible(s); err != nil {
		return "", apperr.New(apperr.InvalidField, "description must hold only visible characters on one line (found: %v)", err)
	}
	if strings.ContainsRune(s, utf8.RuneError) {
		return "", apperr.New(apperr.InvalidField, "description must be valid UTF-8 text: it contains an invalid character (U+FFFD)")
	}
	return s, nil
}

// normalizeUserScopes checks a service user's scopes: nil takes the default, an empty list is
// refused (a service user without a scope could do nothing).
func normalizeUserScopes(scopes []string) ([]string, error) {
	if scopes != nil && len(scopes) == 0 {
		return nil, apperr.New(apperr.InvalidField, "scopes must hold at least one of %s", strings.Join(KnownScopes, ", "))
	}
	return NormalizeScopes(scopes)
}

// errWildcardWriter refuses pipeline:write on every workload that nobody asked for.
func errWildcardWriter(what string) error {
	return apperr.New(apperr.WorkloadsRequired, "%s: a service user with %s must name the workloads it may record into in \"workloads\" (such as [\"my-team\"]), or send [%q] to let it write into every workload on purpose",
		what, ScopePipelineWrite, AllWorkloads)
}

// newUser builds a service user from a request, with the defaults and the pipeline:write rule.
func newUser(req UserRequest, what string) (ServiceUser, error) {
	name, err := NormalizeName(req.Name)
	if err != nil {
		return ServiceUser{}, err
	}
	desc, err := normalizeDescription(req.Description)
	if err != nil {
		return ServiceUser{}, err
	}
	scopes, err := normalizeUserScopes(req.Scopes)
	if err != nil {
		return ServiceUser{}, err
	}
	cidrs, err := NormalizeCIDRs(req.AllowedCIDRs)
	if err != nil {
		return ServiceUser{}, err
	}
	u := ServiceUser{Name: name, Description: desc, Scopes: scopes, Workloads: []string{AllWorkloads}, AllowedCIDRs: cidrs}
	switch {
	case req.Workloads != nil:
		if u.Workloads, err = NormalizeWorkloads(req.Workloads); err != nil {
			return ServiceUser{}, err
		}
	case u.HasScope(ScopePipelineWrite):
		return ServiceUser{}, errWildcardWriter(what)
	}
	return u, nil
}

// CreateUser creates a service user; Conflict when a live one has its name.
func (s *Service) CreateUser(ctx context.Context, req UserRequest, by audit.Context) (ServiceUser, error) {
	u, err := newUser(req, "workloads is required")
	if err != nil {
		return ServiceUser{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	u.CreatedAt, u.CreatedBy, u.UpdatedAt, u.UpdatedBy = now, by.Actor, now, by.Actor
	stored, err := s.store.CreateServiceUser(ctx, u, func(u ServiceUser) audit.Event {
		return by.Event(now, ActionUserCreated, u.Name, userDetails(u))
	})
	if apperr.Is(err, apperr.Conflict) {
		return ServiceUser{}, apperr.New(apperr.Conflict, "a service user named %q exists already: edit it, or choose another name", u.Name)
	}
	if err != nil {
		return ServiceUser{}, err
	}
	s.learn(stored)
	return stored, nil
}

// GetUser returns a live service user.
func (s *Service) GetUser(ctx context.Context, id int64) (ServiceUser, error) {
	return s.store.GetServiceUser(ctx, id, s.now())
}

// ListUsers returns live service users by name.
func (s *Service) ListUsers(ctx context.Context, q UserListQuery) ([]ServiceUser, error) {
	return checked(ctx, q, s.checkUserList, s.store.ListServiceUsers)
}

// CountUsers counts the live service users q selects, ignoring its limit and cursor.
func (s *Service) CountUsers(ctx context.Context, q UserListQuery) (int64, error) {
	q.After, q.Limit = nil, 0
	return checked(ctx, q, s.checkUserList, s.store.CountServiceUsers)
}

func (s *Service) checkUserList(q *UserListQuery) error {
	q.Now = s.now()
	if utf8.RuneCountInString(q.Name) > MaxSubjectLength || !utf8.ValidString(q.Name) {
		return apperr.New(apperr.InvalidParameter, "name filter must be valid text of at most %d characters", MaxSubjectLength)
	}
	return nil
}

// UpdateUser applies patch to a live service user: its tokens on this instance follow at
// once, on the others within one poll of the feed. An administrator's edit clears NeedsReview.
func (s *Service) UpdateUser(ctx context.Context, id int64, patch UserPatch, by audit.Context) (ServiceUser, error) {
	var desc string
	var scopes, workloads []string
	var err error
	if patch.Description != nil {
		if desc, err = normalizeDescription(*patch.Description); err != nil {
			return ServiceUser{}, err
		}
	}
	if patch.Scopes != nil {
		if *patch.Scopes == nil {
			return ServiceUser{}, apperr.New(apperr.InvalidField, "scopes cannot be null: send the list of scopes")
		}
		if scopes, err = normalizeUserScopes(*patch.Scopes); err != nil {
			return ServiceUser{}, err
		}
	}
	if patch.Workloads != nil {
		if workloads, err = NormalizeWorkloads(*patch.Workloads); err != nil {
			return ServiceUser{}, err
		}
	}
	var cidrs []string
	if patch.AllowedCIDRs != nil {
		if cidrs, err = NormalizeCIDRs(*patch.AllowedCIDRs); err != nil {
			return ServiceUser{}, err
		}
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	stored, err := s.store.UpdateServiceUser(ctx, id, func(old ServiceUser) (ServiceUser, audit.Event, error) {
		u := old
		if patch.Description != nil {
			u.Description = desc
		}
		if patch.Scopes != nil {
			u.Scopes = scopes
		}
		if patch.Workloads != nil {
			u.Workloads = workloads
		}
		if patch.Disabled != nil {
			u.Disabled = *patch.Disabled
		}
		if patch.AllowedCIDRs != nil {
			u.AllowedCIDRs = cidrs
		}
		// Writing into every workload is granted only on purpose: by sending ["*"], or kept as
		// it was (a migrated service user).
		wasWildcardWriter := old.HasScope(ScopePipelineWrite) && old.AllowsAllWorkloads()
		if u.HasScope(ScopePipelineWrite) && u.AllowsAllWorkloads() && patch.Workloads == nil && !wasWildcardWriter {
			return ServiceUser{}, audit.Event{}, errWildcardWriter(fmt.Sprintf("service user %q may read every workload", old.Name))
		}
		u.NeedsReview = false
		u.UpdatedAt, u.UpdatedBy = now, by.Actor
		action := ActionUserUpdated
		switch {
		case u.Disabled && !old.Disabled:
			action = ActionUserDisabled
		case !u.Disabled && old.Disabled:
			action = ActionUserEnabled
		}
		return u, by.Event(now, action, u.Name, map[string]any{"id": u.ID, "before": auditState(old), "after": auditState(u)}), nil
	})
	if err != nil {
		return ServiceUser{}, err
	}
	s.learn(stored)
	return stored, nil
}

// DeleteUser deletes a live service user. While it has active tokens it is a Conflict unless
// revokeTokens is set: then they are revoked with it, in the same transaction.
func (s *Service) DeleteUser(ctx context.Context, id int64, revokeTokens bool, by audit.Context) (ServiceUser, error) {
	now := s.now().UTC()
	u, revoked, err := s.store.DeleteServiceUser(ctx, id, now, by.Actor, func(u ServiceUser, active []Token) ([]audit.Event, error) {
		if len(active) > 0 && !revokeTokens {
			return nil, apperr.New(apperr.ServiceUserHasTokens, "service user %q has %d active token(s): revoke them first, or delete it with ?revokeTokens=true to revoke them with it", u.Name, len(active))
		}
		var evs []audit.Event
		for _, t := range active {
			evs = append(evs, by.Event(now, ActionRevoked, t.ID, map[string]any{"subject": t.Subject, "serviceUserDeleted": true}))
		}
		return append(evs, by.Event(now, ActionUserDeleted, u.Name, map[string]any{"id": u.ID, "revokedTokens": len(active), "before": auditState(u)})), nil
	})
	if err != nil {
		return ServiceUser{}, err
	}
	for _, t := range revoked {
		if s.guard != nil {
			s.guard.MarkRevoked(t.ID, t.ExpiresAt)
		}
	}
	s.learn(u)
	return u, nil
}

// learn tells this instance's guard of a service user as just stored.
func (s *Service) learn(u ServiceUser) {
	if s.guard != nil {
		s.guard.learnUser(u)
	}
}

// auditState is what an audit event records of a service user's editable fields.
func auditState(u ServiceUser) map[string]any {
	return map[string]any{
		"description": u.Description, "scopes": u.Scopes, "workloads": u.Workloads,
		"disabled": u.Disabled, "needsReview": u.NeedsReview, "allowedCidrs": nonNilStrings(u.AllowedCIDRs),
	}
}

func userDetails(u ServiceUser) map[string]any {
	d := auditState(u)
	d["id"] = u.ID
	return d
}

// tokenScopes works out a new token's scopes for service user u: asked (nil: the default), and
// never more than u holds.
func tokenScopes(u ServiceUser, asked []string) ([]string, error) {
	if asked == nil {
		asked = DefaultScopes
		if !u.HasScope(ScopeMetricsRead) {
			return nil, apperr.New(apperr.ScopesTooWide, "service user %q does not hold %s, the default scope: send \"scopes\" with some of %s",
				u.Name, ScopeMetricsRead, strings.Join(u.Scopes, ", "))
		}
	}
	for _, sc := range asked {
		if !u.HasScope(sc) {
			return nil, apperr.New(apperr.ScopesTooWide, "service user %q does not hold %s: a token may narrow its service user's scopes (%s), never widen them; an administrator can grant the scope to the service user",
				u.Name, sc, strings.Join(u.Scopes, ", "))
		}
	}
	return slices.Clone(asked), nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
