package token

import (
	"context"
	"runtime"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// Benchmarks of the token hot paths (make bench). Run them with
// go test -run '^$' -bench . -benchmem -count 5 ./internal/token/

func benchToken(b *testing.B, f *fixture) string {
	c := f.create(b, CreateRequest{Subject: "bench", CreatedBy: "bench@example.com"})
	return c.Value
}

// warmToken is a fixture and a service token of it, verified once: in the verified-token cache.
func warmToken(b *testing.B) (*fixture, string) {
	f := newFixture(b)
	raw := benchToken(b, f)
	if _, err := f.guard.Verify(context.Background(), raw); err != nil {
		b.Fatal(err)
	}
	return f, raw
}

// BenchmarkIssue issues a service token: id, claims, HS256 signature and the (in-memory) insert.
func BenchmarkIssue(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	req := CreateRequest{Subject: "bench", CreatedBy: "bench@example.com"}
	for b.Loop() {
		if _, err := f.svc.Create(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// verifyAndCount is what every request with a service token costs the guard: verification and
// the usage count.
func verifyAndCount(ctx context.Context, f *fixture, raw string, c Client) error {
	_, acc, err := f.guard.VerifyAccess(ctx, raw)
	if err == nil {
		f.guard.Count(acc, c, false)
	}
	return err
}

var benchClient = NewClient("10.0.0.1", "bench/1.0 (+https://example.com)")

// BenchmarkVerifyWarm verifies a service token already in the verified-token cache and counts
// the request: the steady state of every authenticated request.
func BenchmarkVerifyWarm(b *testing.B) {
	f, raw := warmToken(b)
	ctx := context.Background()
	gets := f.store.gets
	for b.Loop() {
		if err := verifyAndCount(ctx, f, raw, benchClient); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(f.store.gets-gets)/float64(b.N), "lookups/op")
}

// BenchmarkVerifyWarmParallel is BenchmarkVerifyWarm from every core at once (cache and
// counter contention: one token from every core).
func BenchmarkVerifyWarmParallel(b *testing.B) {
	f, raw := warmToken(b)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := verifyAndCount(ctx, f, raw, benchClient); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyCold verifies the signature and claims of a token with the keyring (what a
// cache miss costs before its one database lookup).
func BenchmarkVerifyCold(b *testing.B) {
	f := newFixture(b)
	raw := benchToken(b, f)
	for b.Loop() {
		if _, err := f.keys.Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareJWTParse is the comparison: a plain golang-jwt HS256 parse of the same token,
// checking signature, issuer, audience and expiry only.
func BenchmarkBareJWTParse(b *testing.B) {
	f := newFixture(b)
	raw := benchToken(b, f)
	p := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("codemetrics"), jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(f.clk.Now))
	key := func(*jwt.Token) (any, error) { return testKey, nil }
	for b.Loop() {
		if _, err := p.ParseWithClaims(raw, &Claims{}, key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCacheMemory reports what the verified-token cache holds per token (live heap after
// a GC, over 10,000 tokens each verified and counted once from one client): the figure for
// sizing TOKEN_CACHE_SIZE (docs/scaling.md). Its ns/op is not a figure of interest.
func BenchmarkCacheMemory(b *testing.B) {
	const n = 10_000
	f := newFixture(b)
	raws := make([]string, n)
	for i := range raws {
		raws[i] = benchToken(b, f)
	}
	ctx := context.Background()
	var perToken float64
	for b.Loop() {
		g := f.otherInstance(b, GuardOptions{CacheSize: n})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, raw := range raws {
			_, acc, err := g.VerifyAccess(ctx, raw)
			if err != nil {
				b.Fatal(err)
			}
			g.Count(acc, benchClient, false)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perToken = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(g)
	}
	b.ReportMetric(perToken, "B/token")
}
