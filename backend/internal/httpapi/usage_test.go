package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/notify"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

type usageDay struct {
	Date     string `json:"date"`
	Requests int64  `json:"requests"`
	Refused  int64  `json:"refused"`
}

type usageClient struct {
	Address   string `json:"address"`
	UserAgent string `json:"userAgent"`
	FirstSeen string `json:"firstSeen"`
	LastSeen  string `json:"lastSeen"`
	Requests  int64  `json:"requests"`
}

type tokenUsage struct {
	From    string        `json:"from"`
	To      string        `json:"to"`
	Days    []usageDay    `json:"days"`
	Clients []usageClient `json:"clients"`
}

// usageEntry is what a token list item says of usage.
type usageEntry struct {
	TokenID           string  `json:"tokenId"`
	Status            string  `json:"status"`
	LastUsed          *string `json:"lastUsed"`
	LastUsedAddress   *string `json:"lastUsedAddress"`
	LastUsedUserAgent *string `json:"lastUsedUserAgent"`
	Requests30d       int64   `json:"requests30d"`
	DailyRequests30d  []int64 `json:"dailyRequests30d"`
	StillPresented    *struct {
		Times       int64  `json:"times"`
		LastSeen    string `json:"lastSeen"`
		LastAddress string `json:"lastAddress"`
	} `json:"stillPresented"`
}

func usageOf(t *testing.T, e *testenv.Env, admin testenv.Session, id, query string) tokenUsage {
	t.Helper()
	var u tokenUsage
	if r := e.GetJSON("/api/tokens/"+id+"/usage"+query, &u, e.As(admin)); r.Status != http.StatusOK {
		t.Fatalf("usage: %d %s", r.Status, r.Body)
	}
	return u
}

func entryOf(t *testing.T, e *testenv.Env, admin testenv.Session, id string) usageEntry {
	t.Helper()
	var u usageEntry
	if r := e.GetJSON("/api/tokens/"+id, &u, e.As(admin)); r.Status != http.StatusOK {
		t.Fatalf("get token: %d %s", r.Status, r.Body)
	}
	return u
}

// call makes one request with tok from addr (through the trusted proxy) as agent; it returns
// the status.
func call(e *testenv.Env, method, path, tok, addr, agent string) int {
	e.T.Helper()
	return e.Do(method, path, nil, testenv.Bearer(tok), from(addr), testenv.Header("User-Agent", agent)).Status
}

var proxied = map[string]string{"TRUSTED_PROXIES": "127.0.0.1"}

// TestUsageCountedAcrossInstances: requests made on two instances, accepted and refused (403 for
// a scope the token lacks), on two UTC days, are counted in memory and, once each instance has
// flushed, the token's usage equals the requests made, by day and by client (address after
// TRUSTED_PROXIES, user agent); the list shows the last client, the 30-day total and the days.
func TestUsageCountedAcrossInstances(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		clock := testenv.NewClockAt(time.Date(2026, 3, 10, 23, 0, 0, 0, time.UTC))
		a := testenv.Start(t, db, testenv.Settings{Clock: clock, Env: proxied})
		b := testenv.Start(t, db, testenv.Settings{Clock: clock, Env: proxied})
		admin := a.SignIn("admin@example.com", true)
		tok := a.CreateToken(admin, map[string]any{"subject": "ci", "scopes": []string{"metrics:read"}}).AccessToken
		id := a.ListTokens(admin)[0].TokenID
		b.Sync()
		const cfg = "/api/system/config"
		for range 3 {
			if st := call(a, http.MethodGet, cfg, tok, "10.0.0.1", "ci-a/1"); st != http.StatusOK {
				t.Fatalf("a: %d", st)
			}
		}
		for range 2 {
			if st := call(b, http.MethodGet, cfg, tok, "2001:db8::5", "ci-b/2"); st != http.StatusOK {
				t.Fatalf("b: %d", st)
			}
		}
		if st := call(b, http.MethodPost, "/api/pipeline/runs", tok, "2001:db8::5", "ci-b/2"); st != http.StatusForbidden {
			t.Fatalf("a scope it lacks: %d, want 403", st)
		}
		if u := usageOf(t, a, admin, id, ""); u.Days[len(u.Days)-1].Requests != 0 || len(u.Clients) != 0 {
			t.Errorf("usage written before a flush: %+v", u)
		}
		clock.Advance(2 * time.Hour) // the next UTC day
		a.Sync()
		b.Sync()
		if st := call(a, http.MethodGet, cfg, tok, "10.0.0.1", "ci-a/1"); st != http.StatusOK {
			t.Fatalf("a, day 2: %d", st)
		}
		a.Flush()
		b.Flush()
		admin = a.SignIn("admin@example.com", true)
		u := usageOf(t, a, admin, id, "?from=2026-03-09&to=2026-03-11")
		want := []usageDay{{"2026-03-09", 0, 0}, {"2026-03-10", 6, 1}, {"2026-03-11", 1, 0}}
		if fmt.Sprint(u.Days) != fmt.Sprint(want) || u.From != "2026-03-09" || u.To != "2026-03-11" {
			t.Errorf("days %+v from %s to %s, want %+v", u.Days, u.From, u.To, want)
		}
		if len(u.Clients) != 2 {
			t.Fatalf("clients %+v, want 2", u.Clients)
		}
		ca, cb := u.Clients[0], u.Clients[1] // most recently seen first
		if ca.Address != "10.0.0.1" || ca.UserAgent != "ci-a/1" || ca.Requests != 4 ||
			ca.FirstSeen != "2026-03-10T23:00:00.000Z" || ca.LastSeen != "2026-03-11T01:00:00.000Z" {
			t.Errorf("client a %+v", ca)
		}
		if cb.Address != "2001:db8::5" || cb.UserAgent != "ci-b/2" || cb.Requests != 3 {
			t.Errorf("client b %+v", cb)
		}
		got := entryOf(t, b, admin, id)
		if got.Requests30d != 7 || len(got.DailyRequests30d) != 30 || got.DailyRequests30d[28] != 6 || got.DailyRequests30d[29] != 1 {
			t.Errorf("requests30d %d, days %v", got.Requests30d, got.DailyRequests30d)
		}
		if got.LastUsedAddress == nil || *got.LastUsedAddress != "10.0.0.1" || got.LastUsedUserAgent == nil || *got.LastUsedUserAgent != "ci-a/1" {
			t.Errorf("last used from %v %v", got.LastUsedAddress, got.LastUsedUserAgent)
		}
		var list []usageEntry
		b.GetJSON("/api/tokens", &list, b.As(admin))
		if len(list) != 1 || list[0].Requests30d != 7 {
			t.Errorf("list %+v", list)
		}
		// A flush with nothing new adds nothing.
		a.Flush()
		b.Flush()
		if u2 := usageOf(t, a, admin, id, "?from=2026-03-09&to=2026-03-11"); fmt.Sprint(u2.Days) != fmt.Sprint(want) {
			t.Errorf("after empty flushes: %+v", u2.Days)
		}
	})
}

// TestUsageCountsRateLimitedAndKeepsRecentClients: a request refused with 429 counts as
// refused; a token used from 25 clients keeps the 20 most recently seen; a user agent is cut to
// 200 characters; a failed flush loses nothing.
func TestUsageCountsRateLimitedAndKeepsRecentClients(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		env := maps.Clone(proxied)
		env["RATE_LIMIT_PER_MINUTE"] = "30"
		e := testenv.Start(t, db, testenv.Settings{Env: env})
		admin := e.SignIn("admin@example.com", true)
		limited := e.CreateToken(admin, map[string]any{"subject": "limited"})
		many := e.CreateToken(admin, map[string]any{"subject": "many"})
		refused := 0
		for range 35 { // 30 in the minute's budget, then 429
			if call(e, http.MethodGet, "/api/system/config", limited.AccessToken, "10.0.1.99", "ci") == http.StatusTooManyRequests {
				refused++
			}
		}
		if refused != 5 {
			t.Fatalf("%d refused with 429, want 5", refused)
		}
		long := strings.Repeat("é", 300)
		for i := range 25 {
			e.Clock.Advance(time.Second)
			e.Sync()
			if st := call(e, http.MethodGet, "/api/system/config", many.AccessToken, fmt.Sprintf("10.0.1.%d", i), long); st != http.StatusOK {
				t.Fatalf("call %d: %d", i, st)
			}
		}
		e.Flush()
		lu := usageOf(t, e, admin, limited.TokenID, "")
		if today := lu.Days[len(lu.Days)-1]; len(lu.Days) != 30 || today.Requests != 35 || today.Refused != 5 {
			t.Errorf("days: %d, today %+v; want 30 days, 35 requests, 5 refused", len(lu.Days), today)
		}
		u := usageOf(t, e, admin, many.TokenID, "")
		if len(u.Clients) != 20 || u.Clients[0].Address != "10.0.1.24" || u.Clients[0].Requests != 1 || u.Clients[19].Address != "10.0.1.5" {
			t.Fatalf("clients: %d, first %+v, last %+v", len(u.Clients), u.Clients[0], u.Clients[len(u.Clients)-1])
		}
		if n := len([]rune(u.Clients[0].UserAgent)); n != 200 {
			t.Errorf("user agent kept as %d characters, want 200", n)
		}
	})
}

// TestEndedTokenStillPresented: a revoked, an expired and a rotated token past its grace period
// are refused with 401 and counted: their list entries say how often, when and from where they
// were last presented, their usage counts them as refused, and token.ended_token_used is raised
// at most once per token an hour, across instances. A forged or unknown token counts nothing.
func TestEndedTokenStillPresented(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		hooks := testenv.NewReceiver(t)
		env := testenv.NotifyEnv(hooks.URL + testenv.HookPath)
		maps.Copy(env, proxied)
		clock := testenv.NewClock()
		a := testenv.Start(t, db, testenv.Settings{Clock: clock, Env: env})
		b := testenv.Start(t, db, testenv.Settings{Clock: clock, Env: env})
		admin := a.SignIn("admin@example.com", true)
		revoked := a.CreateToken(admin, map[string]any{"subject": "revoked"})
		expiring := a.CreateToken(admin, map[string]any{"subject": "expiring", "expiresIn": "1h"})
		rotated := a.CreateToken(admin, map[string]any{"subject": "rotated"})
		a.Rotate(admin, rotated.TokenID, map[string]any{"gracePeriod": "0s"})
		a.Revoke(admin, revoked.TokenID)
		clock.Advance(2 * time.Hour)
		a.Sync()
		b.Sync()
		admin = a.SignIn("admin@example.com", true)
		for _, inst := range []*testenv.Env{a, b} {
			for _, tok := range []string{revoked.AccessToken, expiring.AccessToken, rotated.AccessToken} {
				if st := call(inst, http.MethodGet, "/api/system/config", tok, "10.0.4.2", "forgotten-job/1"); st != http.StatusUnauthorized {
					t.Fatalf("an ended token: %d, want 401", st)
				}
			}
		}
		forged := revoked.AccessToken[:len(revoked.AccessToken)-2] + "xx"
		call(a, http.MethodGet, "/api/system/config", forged, "10.0.4.3", "forger")
		a.Flush()
		b.Flush()
		var ended []usageEntry
		a.GetJSON("/api/tokens?status=revoked,expired,rotated", &ended, a.As(admin))
		if len(ended) != 3 {
			t.Fatalf("%d ended tokens, want 3", len(ended))
		}
		for _, en := range ended {
			p := en.StillPresented
			if p == nil || p.Times != 2 || p.LastAddress != "10.0.4.2" || p.LastSeen != testenv.Epoch.Add(2*time.Hour).Format("2006-01-02T15:04:05.000Z") {
				t.Errorf("%s (%s): still presented %+v, want 2 times from 10.0.4.2 at 02:00", en.TokenID, en.Status, p)
			}
			if en.Requests30d != 2 {
				t.Errorf("%s: requests30d %d, want 2", en.TokenID, en.Requests30d)
			}
		}
		u := usageOf(t, a, admin, revoked.TokenID, "")
		if today := u.Days[len(u.Days)-1]; today.Requests != 2 || today.Refused != 2 {
			t.Errorf("revoked token's day %+v, want 2 requests, 2 refused", today)
		}
		if len(u.Clients) != 1 || u.Clients[0].UserAgent != "forgotten-job/1" {
			t.Errorf("clients %+v", u.Clients)
		}
		endedEvents := func() map[string]int {
			a.Notify() // makes the deliveries of the events written
			n := map[string]int{}
			for _, d := range deliveries(t, a, admin) {
				if d.Event == notify.TokenEndedUsed {
					n[*d.TokenID]++
				}
			}
			return n
		}
		want := map[string]int{revoked.TokenID: 1, expiring.TokenID: 1, rotated.TokenID: 1}
		if got := endedEvents(); !maps.Equal(got, want) {
			t.Errorf("token.ended_token_used per token %v, want %v", got, want)
		}
		// Within the hour: counted, not notified again; an hour on: notified again.
		clock.Advance(30 * time.Minute)
		b.Sync()
		call(b, http.MethodGet, "/api/system/config", revoked.AccessToken, "10.0.4.9", "forgotten-job/1")
		b.Flush()
		if got := endedEvents(); !maps.Equal(got, want) {
			t.Errorf("within the hour: %v, want %v", got, want)
		}
		clock.Advance(31 * time.Minute)
		a.Sync()
		call(a, http.MethodGet, "/api/system/config", revoked.AccessToken, "10.0.4.9", "forgotten-job/1")
		a.Flush()
		want[revoked.TokenID] = 2
		if got := endedEvents(); !maps.Equal(got, want) {
			t.Errorf("an hour on: %v, want %v", got, want)
		}
		if p := entryOf(t, a, admin, revoked.TokenID).StillPresented; p == nil || p.Times != 4 || p.LastAddress != "10.0.4.9" {
			t.Errorf("still presented %+v, want 4 times, last from 10.0.4.9", p)
		}
		// The webhook says where from, and never the value.
		var sawAddress bool
		for _, h := range hooks.Hits(testenv.HookPath) {
			var body struct {
				Event string `json:"event"`
				Text  string `json:"text"`
			}
			_ = json.Unmarshal(h.Body, &body)
			if strings.Contains(string(h.Body), revoked.AccessToken) {
				t.Error("a notification holds the token's value")
			}
			if body.Event == notify.TokenEndedUsed && strings.Contains(body.Text, "10.0.4.") {
				sawAddress = true
			}
		}
		if !sawAddress {
			t.Error("no token.ended_token_used webhook names the address")
		}
	})
}

// TestUsageEndpointErrors: bad days, a reversed or too long range are 400 with what to change;
// an unknown token is 404; neither a service token nor a person who is not an administrator
// may read a token or its usage.
func TestUsageEndpointErrors(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		tok := e.CreateToken(admin, map[string]any{"subject": "ci"})
		for _, q := range []string{"?from=2026-13-01", "?to=yesterday", "?from=2026-03-02&to=2026-03-01", "?from=2025-01-01&to=2026-03-01"} {
			testenv.WantProblem(t, e.Do(http.MethodGet, "/api/tokens/"+tok.TokenID+"/usage"+q, nil, e.As(admin)), http.StatusBadRequest)
		}
		u := usageOf(t, e, admin, tok.TokenID, "?from=2025-03-02&to=2026-03-02")
		if len(u.Days) != 366 || u.Days[0].Date != "2025-03-02" || u.Days[365].Date != "2026-03-02" {
			t.Errorf("366 days: %d, %s … %s", len(u.Days), u.Days[0].Date, u.Days[len(u.Days)-1].Date)
		}
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/tokens/nope/usage", nil, e.As(admin)), http.StatusNotFound)
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/tokens/nope", nil, e.As(admin)), http.StatusNotFound)
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/tokens/"+tok.TokenID+"/usage", nil, testenv.Bearer(tok.AccessToken)), http.StatusForbidden)
		// A person who is not an administrator may read neither a token nor its usage.
		user := e.SignIn("user@example.com", false)
		for _, path := range []string{"/api/tokens/" + tok.TokenID, "/api/tokens/" + tok.TokenID + "/usage"} {
			if p := testenv.WantProblem(t, e.Do(http.MethodGet, path, nil, e.As(user)), http.StatusForbidden); p.Code != "not_admin" {
				t.Errorf("%s as a non-administrator: code %q, want not_admin", path, p.Code)
			}
		}
	})
}

// TestUsageRetention: usage older than USAGE_RETENTION is deleted (days before it, clients
// not seen since); what is newer stays.
func TestUsageRetention(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db, testenv.Settings{Env: map[string]string{"USAGE_RETENTION": "10d", "TRUSTED_PROXIES": "127.0.0.1"}})
		admin := e.SignIn("admin@example.com", true)
		tok := e.CreateToken(admin, map[string]any{"subject": "ci", "expiresIn": "365d"})
		call(e, http.MethodGet, "/api/system/config", tok.AccessToken, "10.0.0.1", "old")
		e.Flush()
		e.Clock.Advance(8 * 24 * time.Hour)
		e.Sync()
		call(e, http.MethodGet, "/api/system/config", tok.AccessToken, "10.0.0.2", "new")
		e.Flush()
		e.Clock.Advance(3 * 24 * time.Hour) // the first use is 11 days old, the second 3
		n, err := e.Server.Tokens.PurgeUsage(context.Background())
		if err != nil || n != 2 {
			t.Fatalf("purged %d rows (%v), want 2: a day and a client", n, err)
		}
		admin = e.SignIn("admin@example.com", true)
		u := usageOf(t, e, admin, tok.TokenID, "?from=2026-03-01&to=2026-03-12")
		var days []string
		for _, d := range u.Days {
			if d.Requests > 0 {
				days = append(days, d.Date)
			}
		}
		if fmt.Sprint(days) != "[2026-03-09]" || len(u.Clients) != 1 || u.Clients[0].UserAgent != "new" {
			t.Errorf("after the purge: days %v, clients %+v", days, u.Clients)
		}
	})
}
