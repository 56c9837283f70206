// Package ratelimit holds in-memory token-bucket limits keyed by a string (a token id, a client
// address). Each replica keeps its own buckets: no database write per request.
package ratelimit

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Limiter allows PerMinute events per key per minute, in bursts of up to PerMinute.
type Limiter struct {
	perMinute int
	now       func() time.Time
	buckets   sync.Map // key -> *bucket
	size      atomic.Int64
}

type bucket struct {
	lim      *rate.Limiter
	lastSeen atomic.Int64 // unix nanoseconds
}

// Decision is the outcome of one check, with what the RateLimit headers report.
type Decision struct {
	Allowed    bool
	Limit      int
	Remaining  int
	RetryAfter time.Duration // when not allowed: until the next event is
	Reset      time.Duration // until the bucket is full again
}

// New returns a limiter; perMinute <= 0 returns nil, which allows everything.
func New(perMinute int, now func() time.Time) *Limiter {
	if perMinute <= 0 {
		return nil
	}
	return &Limiter{perMinute: perMinute, now: now}
}

// MaxKeys bounds memory: past it, idle buckets are swept on the next new key.
const MaxKeys = 100_000

func (l *Limiter) bucket(key string, now time.Time) *bucket {
	if b, ok := l.buckets.Load(key); ok {
		return b.(*bucket)
	}
	if l.size.Load() >= MaxKeys {
		l.Sweep(time.Minute)
	}
	b, loaded := l.buckets.LoadOrStore(key, &bucket{lim: rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), l.perMinute)})
	if !loaded {
		l.size.Add(1)
	}
	return b.(*bucket)
}

// Take spends one event of key's budget if there is one.
func (l *Limiter) Take(key string) Decision {
	if l == nil {
		return Decision{Allowed: true}
	}
	now := l.now()
	b := l.bucket(key, now)
	b.lastSeen.Store(now.UnixNano())
	ok := b.lim.AllowN(now, 1)
	return l.decision(b, now, ok)
}

// Check reports whether key has budget left, without spending it (for limits that count
// failures: check first, spend with Take only when the attempt fails).
func (l *Limiter) Check(key string) Decision {
	if l == nil {
		return Decision{Allowed: true}
	}
	now := l.now()
	b, ok := l.buckets.Load(key)
	if !ok {
		return Decision{Allowed: true, Limit: l.perMinute, Remaining: l.perMinute}
	}
	bk := b.(*bucket)
	return l.decision(bk, now, bk.lim.TokensAt(now) >= 1)
}

func (l *Limiter) decision(b *bucket, now time.Time, ok bool) Decision {
	tokens := b.lim.TokensAt(now)
	perSecond := float64(l.perMinute) / 60
	d := Decision{Allowed: ok, Limit: l.perMinute, Remaining: max(0, int(math.Floor(tokens)))}
	d.Reset = time.Duration((float64(l.perMinute) - tokens) / perSecond * float64(time.Second))
	if !ok {
		d.RetryAfter = time.Duration((1 - tokens) / perSecond * float64(time.Second))
	}
	return d
}

// Sweep forgets buckets idle for longer than idle (a full bucket is the same as none).
func (l *Limiter) Sweep(idle time.Duration) {
	if l == nil {
		return
	}
	cutoff := l.now().Add(-idle).UnixNano()
	l.buckets.Range(func(k, v any) bool {
		if v.(*bucket).lastSeen.Load() < cutoff {
			l.buckets.Delete(k)
			l.size.Add(-1)
		}
		return true
	})
}
