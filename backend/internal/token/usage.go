package token

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
)

// Usage limits.
const (
	// MaxClients is how many recent clients are kept per token: the most recently seen.
	MaxClients = 20
	// MaxUserAgent is how much of a User-Agent is kept, in characters.
	MaxUserAgent = 200
	// MaxUsageDays bounds the days one usage read may ask for.
	MaxUsageDays = 366
	// DefaultUsageRetention is how long usage is kept (USAGE_RETENTION).
	DefaultUsageRetention = 90 * 24 * time.Hour
	// EndedNoticeEvery is how often, at most, token.ended_token_used is raised per token.
	EndedNoticeEvery = time.Hour
)

// Client is who presented a token: its address (after TRUSTED_PROXIES) and its User-Agent.
type Client struct {
	Address   string
	UserAgent string
}

// NewClient makes a Client of what a request says, its User-Agent made valid UTF-8 and cut to
// MaxUserAgent characters (it is shown in the portal and exported).
func NewClient(address, userAgent string) Client {
	if len(userAgent) > MaxUserAgent || !utf8.ValidString(userAgent) {
		userAgent = strings.ToValidUTF8(userAgent, "\uFFFD")
		if utf8.RuneCountInString(userAgent) > MaxUserAgent {
			userAgent = string([]rune(userAgent)[:MaxUserAgent])
		}
	}
	return Client{Address: address, UserAgent: userAgent}
}

// DayUse is a token's requests on one UTC day: all of them, and those refused (403, 429, and
// 401 once the token had stopped working).
type DayUse struct {
	Day      time.Time // midnight UTC
	Requests int64
	Refused  int64
}

// ClientUse is one client of a token: how many requests it made, first and last seen.
type ClientUse struct {
	Client
	FirstSeen, LastSeen time.Time
	Requests            int64
}

// Use is what one flush writes of one token: what was counted since the previous flush.
type Use struct {
	TokenID string
	// LastUsed is the last accepted-or-refused use of a live token (zero if none since), Last
	// its client.
	LastUsed time.Time
	Last     Client
	Days     []DayUse
	Clients  []ClientUse
	// Ended counts the presentations after the token stopped working (revoked, expired,
	// rotated past its grace period); EndedAt and EndedFrom are the last one's.
	Ended     int64
	EndedAt   time.Time
	EndedFrom string
}

// Usage is a token's requests by day over a range of days, every day present, and its most
// recent clients, most recently seen first.
type Usage struct {
	From, To time.Time
	Days     []DayUse
	Clients  []ClientUse
}

// StillPresented is what is known of a token presented after it stopped working.
type StillPresented struct {
	Times       int64
	LastSeen    time.Time
	LastAddress string
}

// DayOf is the UTC day of t, as midnight.
func DayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// usage counts one token's requests in memory between flushes. One mutex per token: requests
// of different tokens never wait for each other.
type usage struct {
	id      string
	mu      sync.Mutex
	pending Use
	dirty   bool
}

// count records one request at at; it reports whether the token was not dirty yet, so that
// the caller puts it on the list the next flush writes.
func (u *usage) count(c Client, at time.Time, refused, ended bool) bool {
	u.mu.Lock()
	p := &u.pending
	d := p.dayAt(at)
	d.Requests++
	if refused || ended {
		d.Refused++
	}
	if ended {
		p.Ended++
		if !at.Before(p.EndedAt) {
			p.EndedAt, p.EndedFrom = at, c.Address
		}
	} else if !at.Before(p.LastUsed) {
		p.LastUsed, p.Last = at, c
	}
	p.client(c, at).Requests++
	first := !u.dirty
	u.dirty = true
	u.mu.Unlock()
	return first
}

// take hands over what was counted and starts afresh.
func (u *usage) take() Use {
	u.mu.Lock()
	defer u.mu.Unlock()
	p := u.pending
	u.pending = Use{TokenID: u.id}
	u.dirty = false
	return p
}

// giveBack adds back what a failed flush could not write; it reports whether the token was not
// dirty yet.
func (u *usage) giveBack(p Use) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.pending.merge(p)
	first := !u.dirty
	u.dirty = true
	return first
}

// dayAt returns the count of at's UTC day, made if missing; the current day is nearly always
// the last. Compared as Unix seconds: no calendar arithmetic per request.
func (p *Use) dayAt(at time.Time) *DayUse {
	sec := at.Unix()
	start := sec - ((sec%86400)+86400)%86400
	for i := len(p.Days) - 1; i >= 0; i-- {
		if p.Days[i].Day.Unix() == start {
			return &p.Days[i]
		}
	}
	p.Days = append(p.Days, DayUse{Day: time.Unix(start, 0).UTC()})
	return &p.Days[len(p.Days)-1]
}

// client returns the count of c, made if missing; with MaxClients already, the one seen
// longest ago makes way.
func (p *Use) client(c Client, at time.Time) *ClientUse {
	for i := range p.Clients {
		cl := &p.Clients[i]
		if cl.Client == c {
			if at.After(cl.LastSeen) {
				cl.LastSeen = at
			}
			return cl
		}
	}
	n := ClientUse{Client: c, FirstSeen: at, LastSeen: at}
	if len(p.Clients) < MaxClients {
		p.Clients = append(p.Clients, n)
		return &p.Clients[len(p.Clients)-1]
	}
	oldest := 0
	for i := range p.Clients {
		if p.Clients[i].LastSeen.Before(p.Clients[oldest].LastSeen) {
			oldest = i
		}
	}
	p.Clients[oldest] = n
	return &p.Clients[oldest]
}

// merge adds q's counts to p.
func (p *Use) merge(q Use) {
	for _, d := range q.Days {
		pd := p.dayAt(d.Day)
		pd.Requests += d.Requests
		pd.Refused += d.Refused
	}
	for _, c := range q.Clients {
		pc := p.client(c.Client, c.LastSeen)
		pc.Requests += c.Requests
		if c.FirstSeen.Before(pc.FirstSeen) {
			pc.FirstSeen = c.FirstSeen
		}
	}
	if q.LastUsed.After(p.LastUsed) {
		p.LastUsed, p.Last = q.LastUsed, q.Last
	}
	p.Ended += q.Ended
	if q.EndedAt.After(p.EndedAt) {
		p.EndedAt, p.EndedFrom = q.EndedAt, q.EndedFrom
	}
}

// Count records one request made with a verified service token, answered as refused (403,
// 429) or not, in memory: Flush writes it. Nothing for a session token.
func (g *Guard) Count(acc Access, c Client, refused bool) {
	if acc.v == nil {
		return
	}
	if acc.v.use.count(c, time.Unix(0, acc.at), refused, false) {
		g.markDirty(&acc.v.use)
	}
}

// EndedTokenID reports the id of the token err refused, when err is VerifyAccess's refusal of a
// service token that has stopped working (a correctly signed token of ours, revoked, rotated
// past its grace period or expired): its presentation is to be counted (CountEnded).
func EndedTokenID(err error) (string, bool) {
	var e *endedError
	if !errors.As(err, &e) {
		return "", false
	}
	return e.id, true
}

// CountEnded records a presentation of the ended token id (EndedTokenID), in memory.
func (g *Guard) CountEnded(id string, c Client) {
	u, _ := g.ended.LoadOrStore(id, &usage{id: id, pending: Use{TokenID: id}})
	if u.(*usage).count(c, g.notBehind(g.now()), true, true) {
		g.markDirty(u.(*usage))
	}
}

func (g *Guard) markDirty(u *usage) {
	g.dirtyMu.Lock()
	g.dirty = append(g.dirty, u)
	g.dirtyMu.Unlock()
}

// endedError is the refusal of a correctly signed service token that has stopped working,
// with its id, so that the use can be counted (CountEnded).
type endedError struct {
	id  string
	err error
}

func (e *endedError) Error() string { return e.err.Error() }
func (e *endedError) Unwrap() error { return e.err }

// ended marks err as the refusal of token id that has stopped working.
func ended(id string, err error) error {
	if err == nil {
		return nil
	}
	return &endedError{id: id, err: err}
}

// Flush writes what was counted since the previous flush (last-use times, requests by day,
// clients, presentations of ended tokens) in one batch. What cannot be written is kept for the
// next flush.
func (g *Guard) Flush(ctx context.Context) error {
	g.dirtyMu.Lock()
	batch := g.dirty
	g.dirty = nil
	g.dirtyMu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	uses := make([]Use, 0, len(batch))
	for _, u := range batch {
		uses = append(uses, u.take())
	}
	// One order for every instance's batches, so that concurrent flushes lock rows in the same
	// order.
	slices.SortFunc(uses, func(a, b Use) int { return strings.Compare(a.TokenID, b.TokenID) })
	if err := g.store.SaveUsage(ctx, uses, g.notBehind(g.now())); err != nil {
		byID := make(map[string]*usage, len(batch))
		for _, u := range batch {
			byID[u.id] = u
		}
		for _, p := range uses {
			if u := byID[p.TokenID]; u.giveBack(p) {
				g.markDirty(u)
			}
		}
		return err
	}
	// The ended tokens' counters have been written; forget them (a token presented again gets a
	// new one). A token counted again between take and here keeps its counter.
	for _, u := range batch {
		if _, isEnded := g.ended.Load(u.id); isEnded {
			u.mu.Lock()
			if !u.dirty {
				g.ended.CompareAndDelete(u.id, u)
			}
			u.mu.Unlock()
		}
	}
	return nil
}

// UsageOf returns token id's usage from the UTC day of from to that of to, every day present.
func (s *Service) UsageOf(ctx context.Context, id string, from, to time.Time) (Usage, error) {
	from, to = DayOf(from), DayOf(to)
	switch {
	case from.After(to):
		return Usage{}, apperr.New(apperr.InvalidParameter, "from (%s) is after to (%s): give the earlier day first", from.Format(time.DateOnly), to.Format(time.DateOnly))
	case int(to.Sub(from).Hours()/24)+1 > MaxUsageDays:
		return Usage{}, apperr.New(apperr.InvalidParameter, "from %s to %s is more than %d days: ask for a shorter range", from.Format(time.DateOnly), to.Format(time.DateOnly), MaxUsageDays)
	}
	if _, err := s.store.GetToken(ctx, id); err != nil {
		return Usage{}, err
	}
	days, clients, err := s.store.TokenUsage(ctx, id, from, to)
	if err != nil {
		return Usage{}, err
	}
	return Usage{From: from, To: to, Days: fillDays(days, from, to), Clients: clients}, nil
}

// fillDays returns a count for every day from from to to, in order: days are the ones that
// have requests, in any order.
func fillDays(days []DayUse, from, to time.Time) []DayUse {
	byDay := make(map[time.Time]DayUse, len(days))
	for _, d := range days {
		byDay[d.Day] = d
	}
	out := make([]DayUse, 0, int(to.Sub(from).Hours()/24)+1)
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		u := byDay[d]
		u.Day = d
		out = append(out, u)
	}
	return out
}

// SetUsageRetention sets how long usage is kept (USAGE_RETENTION).
func (s *Service) SetUsageRetention(d time.Duration) { s.usageRetention = d }

// PurgeUsage deletes the usage older than the retention: requests of days before it, clients
// not seen since. It returns how many rows it deleted.
func (s *Service) PurgeUsage(ctx context.Context) (int, error) {
	return s.store.PurgeUsage(ctx, s.now().Add(-s.usageRetention), 500)
}
