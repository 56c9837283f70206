package benchmark

import (
	"fmt"
	"strings"
)

// missNote explains a missed goal: why, and what would close it. Figures come from the same
// run; the reasoning comes from the profiles and benchmarks of section 6.
func missNote(figure string, r *results) string {
	// bench is a Go benchmark's median ns/op divided by div (1e3: µs, 1e6: ms).
	bench := func(suffix string, div float64) string {
		for _, gb := range parseGoBench(r.gobench) {
			if strings.HasSuffix(gb.name, suffix) {
				return f1(gb.metrics["ns/op"] / div)
			}
		}
		return "?"
	}
	switch {
	case strings.HasPrefix(figure, "authenticated / unauthenticated"):
		return fmt.Sprintf("How much: the lowest cell is below 0.90 (see the goals table); the cells of one run scatter by about ±0.15, "+
			"which is the noise of a closed-loop load on two shared cores. Why: the server's own CPU per request (section 1) "+
			"is the stable figure: `auth` costs a few µs more than `/healthz` out of about 50 µs, most of it in the kernel's "+
			"loopback and socket work that both pay. In-process (section 6) `/api/system/config` with a token takes %s µs "+
			"and `/healthz` %s µs; verifying the cached token is `VerifyWarm`, %s µs. The difference is mostly the handler "+
			"(the configuration JSON is encoded once at start-up, the client address worked out once) and the longer log "+
			"line (token id, subject), not authentication. What would close it: a load generator that does not share the "+
			"server's two cores, so that the few µs of difference are not lost in scheduling noise; on the server, a cheaper "+
			"request log (the JSON log line is the largest remaining cost per request in the profile below).",
			bench(".AuthMiddlewareServiceToken", 1e3), bench(".HealthzUnauthenticated", 1e3), bench(".VerifyWarm", 1e3))
	case strings.HasPrefix(figure, "ours / bare"):
		return "Why: the bare baseline parses and HMAC-verifies the JWT on every request; CodeMetrics answers a cached token " +
			"from memory (`VerifyWarm` vs `BareJWTParse` in section 6), so it should not be slower; a shortfall here is " +
			"noise or work the baseline does not do (the authentication limiter, Prometheus request metrics). See the profile below."
	case strings.HasPrefix(figure, "database round trips"):
		return "Why: something on the request path reaches the database for a cached service token. What would close it: " +
			"find the statement with the driver-level statement counter of `BenchmarkAuthMiddlewareServiceToken`."
	case strings.HasPrefix(figure, "p99 at 64"):
		hz, over := []string{}, []string{}
		for _, db := range []string{"sqlite", "mysql"} {
			if c, ok := r.latency(db, "healthz"); ok {
				hz = append(hz, dbNames[db]+" "+f2(c.p99)+" ms")
			}
			if c, ok := r.latency(db, "auth"); ok && c.p99 >= 5 {
				over = append(over, fmt.Sprintf("%s by %s ms (%s ms)", dbNames[db], f2(c.p99-5), f2(c.p99)))
			}
		}
		how := "the open loop met it; the closed loop at saturation did not"
		if len(over) > 0 {
			how = "over 5 ms at the fixed rate on " + strings.Join(over, ", ")
		}
		return "How much: " + how + ". Why: the two cores are shared by the " +
			"server and the load generator, so at the offered rate scheduling delays and the server's garbage collection " +
			"show up in the tail; `/healthz`, which does no authentication at all, had an open-loop p99 of " +
			strings.Join(hz, ", ") + " in the same run, so the tail is not the token check. What would close it: the load " +
			"generator on other cores or another machine, a lower offered rate (`BENCH_RATE`), and less CPU per request on " +
			"the server (the request log line is the largest part of it; see the profile below). The closed-loop p99 at 64 connections is queueing at " +
			"saturation: by Little's law the mean latency is connections ÷ throughput, so no server change brings it under 5 ms " +
			"on these two cores."
	case strings.HasPrefix(figure, "requests on A"):
		return "Why: the instance that revoked let the token through after the DELETE returned: `Service.Revoke` must mark " +
			"the token revoked in the guard before the answer is written. This is a correctness bug, not a tuning matter."
	case strings.HasPrefix(figure, "revocation seen by"):
		return "Why: instance B did not pick the revocation up within one second. The feed is polled every 250 ms; a slower " +
			"pick-up means the poll failed or was slow (look for \"cannot read the revocation feed\" in B's log)."
	case strings.HasPrefix(figure, "`GET /api/tokens`"):
		return fmt.Sprintf("How much: see the goals table (the unpaged list of 10,000 tokens is a 2 MiB answer). Why: "+
			"`BenchmarkListTokens10k` (section 6) takes %s ms per request in-process on SQLite, after the "+
			"list was moved off GORM's reflective scan (rows are scanned with `database/sql`) and off `encoding/json` "+
			"(the array is encoded by hand, held equal to `encoding/json` by a test and a fuzz target): about 76 ms before. "+
			"What remains is the pure-Go SQLite driver's row decoding and the 2 MiB body; on MariaDB the round trip of "+
			"2 MiB of rows adds to it. The paged request the portal makes (`limit=50`) takes a few ms at 10,000 tokens. "+
			"What would close it: stream the array to the client while rows are read, and keep the portal on paged "+
			"requests. At 100,000 tokens even the paged request slows down (section 4) because every page also counts "+
			"all matching rows for `X-Total-Count`; cache the count for a few seconds or count only on the first page.",
			bench(".ListTokens10k", 1e6))
	case strings.HasPrefix(figure, "start to first"):
		return "Why: start-up opens the database, runs the migrations under a lock and reads the revocation feed before " +
			"listening. What would close it: skip the migration lock when the schema version is current."
	case strings.HasPrefix(figure, "idle resident memory"):
		return "Why: the Go runtime, the embedded portal, gin, GORM, both database drivers and the Prometheus registry are " +
			"resident. What would close it: dropping unused dependencies."
	}
	return ""
}
