package token

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
)

// memUsers are memStore's service users and their feed.
type memUsers struct {
	byID  map[int64]ServiceUser
	seq   int64
	loads int // LoadServiceUser calls: the request path's look-ups
}

func (m *memStore) nextUser(u ServiceUser) ServiceUser {
	if m.users.byID == nil {
		m.users.byID = map[int64]ServiceUser{}
	}
	m.users.seq++
	u.Seq = m.users.seq
	if u.ID == 0 {
		u.ID = int64(len(m.users.byID) + 1)
	}
	m.users.byID[u.ID] = u
	return u
}

func (m *memStore) liveUser(name string) *ServiceUser {
	for _, u := range m.users.byID {
		if u.Name == name && !u.Deleted {
			return &u
		}
	}
	return nil
}

func (m *memStore) IssueToken(_ context.Context, name string, issue func(*ServiceUser) (Issue, error)) (ServiceUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAll != nil {
		return ServiceUser{}, m.failAll
	}
	existing := m.liveUser(name)
	is, err := issue(existing)
	if err != nil {
		return ServiceUser{}, err
	}
	var u ServiceUser
	if is.NewUser != nil {
		u = m.nextUser(*is.NewUser)
		if is.UserEvent != nil {
			m.events = append(m.events, is.UserEvent(u))
		}
	} else {
		u = *existing
	}
	t := is.Token
	t.ServiceUserID = u.ID
	m.tokens[t.ID] = t
	m.events = append(m.events, is.Events...)
	return u, nil
}

func (m *memStore) CreateServiceUser(_ context.Context, u ServiceUser, event func(ServiceUser) audit.Event) (ServiceUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.liveUser(u.Name) != nil {
		return ServiceUser{}, apperr.New(apperr.Conflict, "exists")
	}
	u = m.nextUser(u)
	m.events = append(m.events, event(u))
	return u, nil
}

func (m *memStore) UpdateServiceUser(_ context.Context, id int64, change func(ServiceUser) (ServiceUser, audit.Event, error)) (ServiceUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.users.byID[id]
	if !ok || old.Deleted {
		return ServiceUser{}, apperr.New(apperr.NotFound, "no service user")
	}
	u, ev, err := change(old)
	if err != nil {
		return ServiceUser{}, err
	}
	u = m.nextUser(u)
	m.events = append(m.events, ev)
	return u, nil
}

func (m *memStore) DeleteServiceUser(_ context.Context, id int64, at time.Time, by string, events func(ServiceUser, []Token) ([]audit.Event, error)) (ServiceUser, []Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users.byID[id]
	if !ok || u.Deleted {
		return ServiceUser{}, nil, apperr.New(apperr.NotFound, "no service user")
	}
	var active []Token
	for _, t := range m.tokens {
		if t.ServiceUserID == id && t.Active(at) {
			active = append(active, t)
		}
	}
	evs, err := events(u, active)
	if err != nil {
		return ServiceUser{}, nil, err
	}
	for i, t := range active {
		t.RevokedAt, t.RevokedBy = &at, by
		m.tokens[t.ID] = t
		m.seq++
		m.revs = append(m.revs, Revocation{Seq: m.seq, TokenID: t.ID, ExpiresAt: t.ExpiresAt, RevokedAt: at})
		active[i] = t
	}
	u.Deleted = true
	u = m.nextUser(u)
	m.events = append(m.events, evs...)
	return u, active, nil
}

func (m *memStore) GetServiceUser(_ context.Context, id int64, _ time.Time) (ServiceUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users.byID[id]
	if !ok || u.Deleted {
		return ServiceUser{}, apperr.New(apperr.NotFound, "no service user")
	}
	return u, nil
}

func (m *memStore) ListServiceUsers(_ context.Context, q UserListQuery) ([]ServiceUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ServiceUser
	for _, u := range m.users.byID {
		if !u.Deleted && strings.Contains(strings.ToLower(u.Name), strings.ToLower(q.Name)) {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b ServiceUser) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (m *memStore) CountServiceUsers(ctx context.Context, q UserListQuery) (int64, error) {
	l, err := m.ListServiceUsers(ctx, q)
	return int64(len(l)), err
}

func (m *memStore) LoadServiceUser(_ context.Context, id int64) (ServiceUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.users.loads++
	if m.failAll != nil {
		return ServiceUser{}, m.failAll
	}
	u, ok := m.users.byID[id]
	if !ok {
		return ServiceUser{}, apperr.New(apperr.NotFound, "no service user")
	}
	return u, nil
}

func (m *memStore) ServiceUserChanges(_ context.Context, after int64, limit int) (UserFeedPage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAll != nil {
		return UserFeedPage{}, m.failAll
	}
	page := UserFeedPage{Counter: m.users.seq}
	for _, u := range m.users.byID {
		if u.Seq > after {
			page.Users = append(page.Users, u)
		}
	}
	slices.SortFunc(page.Users, func(a, b ServiceUser) int { return int(a.Seq - b.Seq) })
	if len(page.Users) > limit {
		page.Users = page.Users[:limit]
	}
	return page, nil
}
