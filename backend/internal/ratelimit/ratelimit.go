// Package ratelimit holds in-memory token-bucket limits keyed by a string (a token id, a client
// address). Each replica keeps its own buckets: no database write per request.
package ratelimit

import (
	"math"
	"net/netip"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Limiter allows PerMinute events per key per minute, in bursts of up to PerMinute.
//
// Buckets live in a least-recently-used cache of bounded size: a new key past the bound
// evicts the key idle the longest, in constant time (no scan). Forgetting a bucket only ever
// gives its key a full budget again, so the keys evicted first are the ones that matter least:
// those nobody has used for the longest time, which have mostly refilled anyway.
type Limiter struct {
	perMinute int
	now       func() time.Time
	buckets   *lru.Cache[string, *rate.Limiter]
}

// Decision is the outcome of one check, with what the RateLimit headers report.
type Decision struct {
	Allowed    bool
	Limit      int
	Remaining  int
	RetryAfter time.Duration // when not allowed: until the next event is
	Reset      time.Duration // until the bucket is full again
}

// MaxKeys bounds the memory of a limiter made by New: at most this many buckets (a few
// hundred bytes each) are kept.
const MaxKeys = 100_000

// New returns a limiter of at most MaxKeys buckets; perMinute <= 0 returns nil, which allows
// everything.
func New(perMinute int, now func() time.Time) *Limiter {
	return NewSized(perMinute, MaxKeys, now)
}

// NewSized is New with another bound on the number of buckets kept.
func NewSized(perMinute, maxKeys int, now func() time.Time) *Limiter {
	if perMinute <= 0 {
		return nil
	}
	c, err := lru.New[string, *rate.Limiter](max(1, maxKeys))
	if err != nil {
		panic(err) // only for a size <= 0, excluded above
	}
	return &Limiter{perMinute: perMinute, now: now, buckets: c}
}

func (l *Limiter) bucket(key string) *rate.Limiter {
	if b, ok := l.buckets.Get(key); ok { // Get marks the key as recently used
		return b
	}
	b := rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), l.perMinute)
	// Two requests may create the same key at once: the first one stored wins.
	if prev, ok, _ := l.buckets.PeekOrAdd(key, b); ok {
		return prev
	}
	return b
}

// Take spends one event of key's budget if there is one.
func (l *Limiter) Take(key string) Decision {
	if l == nil {
		return Decision{Allowed: true}
	}
	now := l.now()
	b := l.bucket(key)
	ok := b.AllowN(now, 1)
	return l.decision(b, now, ok)
}

// Len is the number of buckets kept.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	return l.buckets.Len()
}

func (l *Limiter) decision(b *rate.Limiter, now time.Time, ok bool) Decision {
	tokens := b.TokensAt(now)
	perSecond := float64(l.perMinute) / 60
	d := Decision{Allowed: ok, Limit: l.perMinute, Remaining: max(0, int(math.Floor(tokens)))}
	d.Reset = time.Duration((float64(l.perMinute) - tokens) / perSecond * float64(time.Second))
	if !ok {
		d.RetryAfter = time.Duration((1 - tokens) / perSecond * float64(time.Second))
	}
	return d
}

// AddressKey is the bucket key of a client address: an IPv4 address (an IPv4-mapped IPv6
// address counts as the IPv4 one) is itself; an IPv6 address counts as its /64, since one
// client, a home or a single server, is usually given a whole /64 and can pick any address in
// it. Anything that does not parse is returned as is.
func AddressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.WithZone("").Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64) // cannot fail for an IPv6 address
	return p.String()
}
