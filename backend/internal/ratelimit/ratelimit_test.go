package ratelimit_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/ratelimit"
)

var epoch = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func fixed() time.Time { return epoch }

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.9":              "203.0.113.9",
		"::ffff:203.0.113.9":       "203.0.113.9", // IPv4-mapped is the IPv4 client
		"::ffff:cb00:7109":         "203.0.113.9",
		"2001:db8:1:2:aaaa::1":     "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff::": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":          "2001:db8:1:3::/64",
		"fe80::1%eth0":             "fe80::/64",
		"::1":                      "::/64",
		"":                         "",
		"not-an-address":           "not-an-address",
	} {
		if got := ratelimit.AddressKey(in); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// An IPv6 client picking a new address in its /64 for every attempt still has one budget;
// the next /64 is another client.
func TestIPv6ClientsAreTheirSlash64(t *testing.T) {
	l := ratelimit.New(3, fixed)
	for i := range 3 {
		if d := l.Take(ratelimit.AddressKey("2001:db8:1:2::" + strconv.FormatInt(int64(i+1), 16))); !d.Allowed {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	if d := l.Take(ratelimit.AddressKey("2001:db8:1:2:dead:beef:0:1")); d.Allowed {
		t.Fatal("another address of the same /64 got a budget of its own")
	}
	if d := l.Take(ratelimit.AddressKey("2001:db8:1:3::1")); !d.Allowed {
		t.Fatal("the next /64 shares the budget")
	}
	// IPv4 is per address; the mapped form is the same client.
	l4 := ratelimit.New(1, fixed)
	l4.Take(ratelimit.AddressKey("192.0.2.1"))
	if l4.Take(ratelimit.AddressKey("::ffff:192.0.2.1")).Allowed {
		t.Error("IPv4-mapped IPv6 escaped its IPv4 bucket")
	}
	if !l4.Take(ratelimit.AddressKey("192.0.2.2")).Allowed {
		t.Error("the next IPv4 address shares the budget")
	}
}

// Memory stays at the bound however many distinct keys arrive.
func TestKeysAreBounded(t *testing.T) {
	l := ratelimit.New(5, fixed)
	for i := range ratelimit.MaxKeys + 50_000 {
		l.Take("k" + strconv.Itoa(i))
		if l.Len() > ratelimit.MaxKeys {
			t.Fatalf("%d buckets after %d keys, bound %d", l.Len(), i+1, ratelimit.MaxKeys)
		}
	}
	if l.Len() != ratelimit.MaxKeys {
		t.Errorf("%d buckets, want the bound %d", l.Len(), ratelimit.MaxKeys)
	}
}

// A key in use survives a flood of new keys: its spent budget is not forgotten, so a flood of
// addresses cannot give a busy attacker a fresh budget.
func TestEvictionKeepsHotKeys(t *testing.T) {
	const size = 1000
	l := ratelimit.NewSized(100, size, fixed)
	for range 99 {
		l.Take("hot")
	}
	for i := range 50 * size {
		l.Take("cold" + strconv.Itoa(i))
		if i%(size/2) == 0 {
			if d := l.Take("hot"); d.Allowed != (i == 0) {
				t.Fatalf("after %d new keys the hot key's budget was %+v", i+1, d)
			}
		}
	}
	if l.Len() != size {
		t.Errorf("%d buckets, want %d", l.Len(), size)
	}
	if d := l.Take("hot"); d.Allowed || d.Remaining != 0 {
		t.Errorf("the hot key was evicted: %+v", d)
	}
	// The cold keys went in order: the oldest are gone (a fresh, full budget), the newest kept.
	if d := l.Take("cold0"); d.Remaining != 99 {
		t.Errorf("oldest cold key: %+v", d)
	}
}

func TestRefillAndHeaders(t *testing.T) {
	now := epoch
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	l := ratelimit.New(3, clock)
	for i, want := range []int{2, 1, 0} {
		if d := l.Take("k"); !d.Allowed || d.Remaining != want || d.Limit != 3 {
			t.Fatalf("take %d: %+v", i+1, d)
		}
	}
	d := l.Take("k")
	if d.Allowed || d.RetryAfter != 20*time.Second || d.Reset != time.Minute {
		t.Fatalf("over the limit: %+v", d)
	}
	mu.Lock()
	now = now.Add(20 * time.Second)
	mu.Unlock()
	if d := l.Take("k"); !d.Allowed {
		t.Fatalf("after 20 s: %+v", d)
	}
	if l := ratelimit.New(0, clock); !l.Take("k").Allowed || l.Len() != 0 {
		t.Error("a limit of 0 limits")
	}
}

// TestResetAndRemainingAsTheBucketRefills: the RateLimit header's remaining and reset follow
// the bucket between empty and full, one event every 60/limit seconds (to the millisecond: the
// headers round up to whole seconds), and every key has a budget of its own.
func TestResetAndRemainingAsTheBucketRefills(t *testing.T) {
	now := epoch
	l := ratelimit.New(6, func() time.Time { return now }) // one event every 10 s
	for _, step := range []struct {
		wait       time.Duration
		allowed    bool
		remaining  int
		reset      time.Duration
		retryAfter time.Duration
	}{
		{0, true, 5, 10 * time.Second, 0},                              // one spent
		{0, true, 4, 20 * time.Second, 0},                              // two spent
		{5 * time.Second, true, 3, 25 * time.Second, 0},                // half an event back, a third spent
		{25 * time.Second, true, 5, 10 * time.Second, 0},               // full again, then one spent
		{0, true, 4, 20 * time.Second, 0},                              //
		{0, true, 3, 30 * time.Second, 0},                              //
		{0, true, 2, 40 * time.Second, 0},                              //
		{0, true, 1, 50 * time.Second, 0},                              //
		{0, true, 0, time.Minute, 0},                                   // empty
		{4 * time.Second, false, 0, 56 * time.Second, 6 * time.Second}, // not yet: the next event in 6 s
		{6 * time.Second, true, 0, time.Minute, 0},                     // exactly then
	} {
		now = now.Add(step.wait)
		d := l.Take("k")
		if d.Allowed != step.allowed || d.Remaining != step.remaining || d.Reset.Round(time.Millisecond) != step.reset || d.RetryAfter.Round(time.Millisecond) != step.retryAfter || d.Limit != 6 {
			t.Fatalf("at +%v: %+v, want allowed %v, remaining %d, reset %v, retry after %v", now.Sub(epoch), d, step.allowed, step.remaining, step.reset, step.retryAfter)
		}
	}
	if d := l.Take("another key"); !d.Allowed || d.Remaining != 5 {
		t.Errorf("another key shares the spent budget: %+v", d)
	}
}

func TestConcurrentTakesOfANewKeyShareOneBucket(t *testing.T) {
	l := ratelimit.New(50, fixed)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 200 {
		wg.Go(func() {
			if l.Take("k").Allowed {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 50 {
		t.Errorf("%d allowed, want 50", allowed)
	}
}
