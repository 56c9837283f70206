package token

import (
	"context"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// Benchmarks of the token hot paths (make bench). Run them with
// go test -run '^$' -bench . -benchmem -count 5 ./internal/token/

func benchToken(b *testing.B, f *fixture) string {
	c := f.create(b, CreateRequest{Subject: "bench", CreatedBy: "bench@example.com"})
	return c.Value
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
	f := newFixture(b)
	raw := benchToken(b, f)
	ctx := context.Background()
	if _, err := f.guard.Verify(ctx, raw); err != nil {
		b.Fatal(err)
	}
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
	f := newFixture(b)
	raw := benchToken(b, f)
	ctx := context.Background()
	if _, err := f.guard.Verify(ctx, raw); err != nil {
		b.Fatal(err)
	}
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
