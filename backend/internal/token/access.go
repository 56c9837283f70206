package token

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
)

// Access is what one request made with a service token may do: decided by the token's service
// user as this instance knows it now (kept current by the service-user feed), not by the
// token's claims alone. Its scopes are the ones the token and its service user have in common;
// its workloads are the service user's.
type Access struct {
	claims *Claims
	user   *userSnapshot
	// ends is when a rotated token's grace period ends (zero for any other token).
	ends time.Time
	// v is the verified token, at the time of the verification (unix ns): Guard.Count counts
	// the request on it.
	v  *verifiedToken
	at int64
}

// StopsAt is the moment the token stops working as this instance knows now: its expiry, or
// the end of its grace period once it was rotated. No database statement.
func (a Access) StopsAt() time.Time {
	exp := a.claims.ExpiresAt.Time
	if !a.ends.IsZero() && a.ends.Before(exp) {
		return a.ends
	}
	return exp
}

// GraceEndsAt is when the token's grace period ends, if it was rotated (zero otherwise).
func (a Access) GraceEndsAt() time.Time { return a.ends }

// userSnapshot is one version of a service user as the request path reads it: never changed
// once published, so a request sees one consistent version.
type userSnapshot struct {
	id        int64
	name      string
	seq       int64
	scopes    []string
	all       bool
	workloads map[string]struct{}
	names     []string // sorted; nil when all
	disabled  bool
	deleted   bool
	// cidrs are the networks its tokens may be used from (nil: anywhere); cidrNames as stored.
	cidrs     []netip.Prefix
	cidrNames []string
}

func snapshotOf(u ServiceUser) *userSnapshot {
	s := &userSnapshot{id: u.ID, name: u.Name, seq: u.Seq, scopes: slices.Clone(u.Scopes), disabled: u.Disabled, deleted: u.Deleted,
		cidrs: parsedCIDRs(u.AllowedCIDRs), cidrNames: slices.Clone(u.AllowedCIDRs)}
	if u.AllowsAllWorkloads() {
		s.all = true
		return s
	}
	s.names = append([]string{}, u.Workloads...) // never nil: nil means every workload
	slices.Sort(s.names)
	s.workloads = make(map[string]struct{}, len(u.Workloads))
	for _, w := range u.Workloads {
		s.workloads[w] = struct{}{}
	}
	return s
}

// userEntry holds the current snapshot of one service user; every cached token of that user
// points at it, so one change reaches all of them with one store.
type userEntry struct {
	snap atomic.Pointer[userSnapshot]
}

// Claims are the token's verified claims.
func (a Access) Claims() *Claims { return a.claims }

// ServiceUser is the name of the service user the token acts as.
func (a Access) ServiceUser() string { return a.user.name }

// ServiceUserID is the id of the token's service user.
func (a Access) ServiceUserID() int64 { return a.user.id }

// HasScope reports whether both the token and its service user hold scope.
func (a Access) HasScope(scope string) bool {
	return a.claims.HasScope(scope) && slices.Contains(a.user.scopes, scope)
}

// TokenHasScope reports whether the token's own claim holds scope (whatever its service user
// holds now): tells "create a token with it" from "the service user lost it".
func (a Access) TokenHasScope(scope string) bool { return a.claims.HasScope(scope) }

// Scopes are the scopes in effect: the token's that its service user holds, in KnownScopes order.
func (a Access) Scopes() []string {
	out := []string{}
	for _, s := range KnownScopes {
		if a.HasScope(s) {
			out = append(out, s)
		}
	}
	return out
}

// AllWorkloads reports whether the service user holds every workload.
func (a Access) AllWorkloads() bool { return a.user.all }

// Workloads are the workloads the service user holds, sorted; nil when it holds every one.
func (a Access) Workloads() []string { return a.user.names }

// MayUse reports whether the service user holds the workload.
func (a Access) MayUse(workload string) bool {
	if a.user.all {
		return true
	}
	_, ok := a.user.workloads[workload]
	return ok
}

// CheckWorkload refuses a workload the service user does not hold, naming it; verb says what
// was tried ("record a run into", "read").
func (a Access) CheckWorkload(verb, workload string) error {
	if a.MayUse(workload) {
		return nil
	}
	return apperr.New(apperr.WorkloadForbidden, "service user %q may not %s workload %q: it holds %s; an administrator can change its workloads",
		a.user.name, verb, workload, strings.Join(a.user.names, ", "))
}

// users is the guard's table of service users, by id. It only grows (service users are few,
// and a deleted one stays as a deleted snapshot so that its tokens stay refused).
type users struct {
	mu sync.RWMutex
	m  map[int64]*userEntry
	// cursor is the number of the last service-user feed entry read.
	cursor  int64
	readAll bool
	// counter is the service-user feed's counter as the revocation feed's read found it
	// (counterRead: in this Sync).
	counter     int64
	counterRead bool
}

func (us *users) entry(id int64) *userEntry {
	us.mu.RLock()
	e := us.m[id]
	us.mu.RUnlock()
	if e != nil {
		return e
	}
	us.mu.Lock()
	defer us.mu.Unlock()
	if us.m == nil {
		us.m = map[int64]*userEntry{}
	}
	if e = us.m[id]; e == nil {
		e = &userEntry{}
		us.m[id] = e
	}
	return e
}

// put publishes u unless a later version of it is known already; force publishes it anyway
// (the database was replaced: its numbers start again).
func (us *users) put(u ServiceUser, force bool) *userEntry {
	e := us.entry(u.ID)
	next := snapshotOf(u)
	for {
		cur := e.snap.Load()
		if cur != nil && cur.seq > next.seq && !force {
			return e
		}
		if e.snap.CompareAndSwap(cur, next) {
			return e
		}
	}
}

// learnUser makes this instance act on u at once (a change made here), before the feed
// brings it.
func (g *Guard) learnUser(u ServiceUser) { g.users.put(u, false) }

// userOf returns the entry of the token's service user, reading its row when this instance
// has not seen it yet (a service user made on another instance since the last feed read).
func (g *Guard) userOf(ctx context.Context, t Token) (*userEntry, error) {
	if t.ServiceUserID == 0 {
		g.log.Error("a token without a service user: refusing it (was its row written by hand?)", "token_id", t.ID)
		return nil, errUnknown
	}
	if e := g.users.entry(t.ServiceUserID); e.snap.Load() != nil {
		return e, nil
	}
	u, err := g.store.LoadServiceUser(ctx, t.ServiceUserID)
	switch {
	case apperr.Is(err, apperr.NotFound):
		g.log.Error("a token whose service user does not exist: refusing it", "token_id", t.ID, "service_user_id", t.ServiceUserID)
		return nil, errUnknown
	case err != nil:
		return nil, cannotCheck(err)
	}
	return g.users.put(u, false), nil
}

// readUsers reads the service-user feed on from the last entry read: every service user
// changed since. A counter gone back (a database restored or failed over) is read again from
// the start, as is the whole feed at start-up and after the revocation feed was found replaced;
// after a replacement the database's versions are taken whatever their numbers, so that every
// instance acts as the database says (changes made after the backup was taken are lost: the
// error logged says to make them again).
func (g *Guard) readUsers(ctx context.Context) error {
	if !g.users.readAll && g.users.counterRead && g.users.counter == g.users.cursor {
		return nil // no service user changed since the last read
	}
	replaced := g.users.readAll && g.users.cursor > 0
	if g.users.readAll {
		g.users.cursor = 0
	}
	restarted := false
	for {
		page, err := g.store.ServiceUserChanges(ctx, g.users.cursor, feedPage)
		if err != nil {
			return err
		}
		if page.Counter < g.users.cursor && !restarted {
			g.log.Error("the service-user feed went backwards (was the database restored or failed over?): reading it again from the start and acting on the service users as stored; changes made to service users after the backup was taken are lost, make them again",
				"cursor_seq", g.users.cursor, "database_seq", page.Counter)
			g.users.cursor, restarted, replaced = 0, true, true
			continue
		}
		for _, u := range page.Users {
			g.users.put(u, replaced)
			g.users.cursor = max(g.users.cursor, u.Seq)
		}
		if len(page.Users) < feedPage {
			g.users.readAll = false
			return nil
		}
	}
}

// access checks a verified token's service user as known now: a deleted one's tokens are
// revoked, a disabled one's refused until it is enabled.
func (v *verifiedToken) access() (Access, error) {
	u := v.user.snap.Load()
	switch {
	case u.deleted:
		return Access{}, apperr.New(apperr.TokenRevoked, "the token has been revoked: its service user was deleted")
	case u.disabled:
		return Access{}, apperr.New(apperr.ServiceUserDisabled, "service user %q is disabled: its tokens are refused until an administrator enables it again", u.name)
	}
	return Access{claims: v.claims, user: u}, nil
}
