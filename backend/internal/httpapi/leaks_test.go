package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/notify"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/testenv/jwttest"
	"github.com/golang-jwt/jwt/v5"
)

const leakPath = "/api/tokens/report-leak"

// reportLeak sends a leak report with no credential, as a secret scanner does.
func reportLeak(e *testenv.Env, source string, values ...string) *testenv.Response {
	e.T.Helper()
	return e.Do(http.MethodPost, leakPath, map[string]any{"tokens": values, "source": source})
}

// wantReceived checks the one answer a leak report ever gets: 202 {"received": n}.
func wantReceived(t *testing.T, r *testenv.Response, n int) {
	t.Helper()
	want := `{"received":` + itoa(n) + `}`
	if r.Status != http.StatusAccepted || string(r.Body) != want {
		t.Errorf("leak report: %d %s, want 202 %s", r.Status, r.Body, want)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// wantRefusedToken checks that tok is refused with 401 token_revoked on e.
func wantRevokedOn(t *testing.T, e *testenv.Env, tok string) {
	t.Helper()
	r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok))
	testenv.WantInvalidToken(t, r, tok)
	if p := testenv.WantProblem(t, r, http.StatusUnauthorized); p.Code != "token_revoked" {
		t.Errorf("code %q, want token_revoked", p.Code)
	}
}

func wantWorks(t *testing.T, e *testenv.Env, tok string) {
	t.Helper()
	if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok)); r.Status != http.StatusOK {
		t.Errorf("token refused: %d %s", r.Status, r.Body)
	}
}

// TestLeakReportRevokesOnEveryInstance: a token found in public and reported by a scanner,
// with no credential, is revoked at once on the instance that took the report and on another
// after its feed read; the revocation is audited with the source and the reporter's address,
// and token.leaked is delivered once, without the value.
func TestLeakReportRevokesOnEveryInstance(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		recv := testenv.NewReceiver(t)
		env := testenv.NotifyEnv(recv.URL + testenv.HookPath)
		clock := testenv.NewClock()
		a := testenv.Start(t, db, testenv.Settings{Env: env, Clock: clock})
		b := testenv.Start(t, db, testenv.Settings{Env: env, Clock: clock})
		admin := a.SignIn("admin@example.com", true)
		leaked := a.CreateToken(admin, map[string]any{"subject": "nightly-export"})
		other := a.CreateToken(admin, map[string]any{"subject": "nightly-export"})
		b.Sync()
		wantWorks(t, b, leaked.AccessToken) // cached on B

		const source = "https://github.com/example/repo/blob/main/.env"
		wantReceived(t, reportLeak(a, source, leaked.AccessToken, leaked.AccessToken), 2)
		wantRevokedOn(t, a, leaked.AccessToken)
		b.Sync() // what B's feed poll does every 250 ms
		wantRevokedOn(t, b, leaked.AccessToken)
		wantWorks(t, a, other.AccessToken)
		wantWorks(t, b, other.AccessToken)

		evs := a.AuditEvents("token.revoked")
		if len(evs) != 1 {
			t.Fatalf("%d token.revoked events, want 1: %+v", len(evs), evs)
		}
		ev := evs[0]
		if ev.Target != leaked.TokenID || ev.Actor != "leak-report" || ev.ClientAddress != "127.0.0.1" ||
			ev.Details["reason"] != "leaked" || ev.Details["source"] != source || ev.Details["leakReport"] != true {
			t.Errorf("audit event %+v, want the token revoked by leak-report from 127.0.0.1 with the source", ev)
		}
		var list []map[string]any
		a.GetJSON("/api/tokens", &list, a.As(admin))
		if len(list) != 1 || list[0]["tokenId"] != other.TokenID {
			t.Errorf("active tokens %v, want only the other one", list)
		}

		a.Notify()
		b.Notify()
		hits := recv.Hits(testenv.HookPath)
		var leakedHits int
		for _, h := range hits {
			var p map[string]any
			if err := json.Unmarshal(h.Body, &p); err != nil {
				t.Fatal(err)
			}
			if p["event"] == notify.TokenLeaked {
				leakedHits++
				if p["tokenId"] != leaked.TokenID || !strings.Contains(p["text"].(string), "reported leaked") {
					t.Errorf("token.leaked payload %s", h.Body)
				}
			}
			if p["event"] == notify.TokenRevoked {
				t.Errorf("a leak report also sent token.revoked: %s", h.Body)
			}
			if bytes.Contains(h.Body, []byte(strings.Split(leaked.AccessToken, ".")[2])) {
				t.Errorf("a notification holds the token's value: %s", h.Body)
			}
		}
		if leakedHits != 1 {
			t.Errorf("token.leaked delivered %d times, want once: %d hits", leakedHits, len(hits))
		}
		// Reported again: nothing changes, the answer is the same.
		wantReceived(t, reportLeak(b, source, leaked.AccessToken), 1)
		if n := len(a.AuditEvents("token.revoked")); n != 1 {
			t.Errorf("%d token.revoked events after a second report, want 1", n)
		}
	})
}

// TestLeakReportIsNoOracle reports what an attacker would try: garbage, a token signed with
// another key, one of another issuer, one of another audience, an already revoked token, an
// expired one. Every report gets the very same answer, byte for byte, and revokes nothing.
func TestLeakReportIsNoOracle(t *testing.T) {
	t.Parallel()
	testenv.ForEachServerWith(t, testenv.Settings{Env: map[string]string{"SERVICE_TOKEN_TTL": "30d"}}, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		keep := e.CreateToken(admin, map[string]any{"subject": "keep"})
		gone := e.CreateToken(admin, map[string]any{"subject": "gone"})
		e.Revoke(admin, gone.TokenID)
		header, claims := jwttest.Parts(t, keep.AccessToken)
		kid := map[string]any{"kid": header["kid"]}
		key := []byte(testenv.SigningKey)
		values := map[string]string{
			"garbage":          "eyJhbGciOiJIUzI1NiJ9.garbage.sig",
			"not a JWT":        "hello",
			"empty":            "",
			"another key":      jwttest.Sign(t, jwt.SigningMethodHS256, []byte("another-deployment-signing-key-0123456789"), kid, claims),
			"another issuer":   jwttest.Sign(t, jwt.SigningMethodHS256, key, kid, jwttest.With(claims, map[string]any{"iss": "someone-else"})),
			"another audience": jwttest.Sign(t, jwt.SigningMethodHS256, key, kid, jwttest.With(claims, map[string]any{"aud": "other-api"})),
			"alg none":         jwttest.Segment(t, map[string]any{"alg": "none", "typ": "JWT"}) + "." + jwttest.Segment(t, claims) + ".",
			"unknown id":       jwttest.Sign(t, jwt.SigningMethodHS256, key, kid, jwttest.With(claims, map[string]any{"jti": "AAAAAAAAAAAAAAAAAAAAAA"})),
			"already revoked":  gone.AccessToken,
			"very long":        strings.Repeat("eyJ", 5000),
		}
		var first *testenv.Response
		for name, v := range values {
			r := reportLeak(e, "https://paste.example/"+name, v)
			wantReceived(t, r, 1)
			if first == nil {
				first = r
			} else if r.Header.Get("Content-Type") != first.Header.Get("Content-Type") || r.Header.Get("Cache-Control") != first.Header.Get("Cache-Control") {
				t.Errorf("%s: headers differ from another report's: %v vs %v", name, r.Header, first.Header)
			}
		}
		// The expired token: reported after its expiry.
		expiring := e.CreateToken(admin, map[string]any{"subject": "expiring"})
		e.Clock.Advance(31 * 24 * time.Hour)
		wantReceived(t, reportLeak(e, "", expiring.AccessToken), 1)
		e.Clock.Set(testenv.Epoch)

		wantWorks(t, e, keep.AccessToken)
		if evs := e.AuditEvents("token.revoked"); len(evs) != 1 || evs[0].Target != gone.TokenID {
			t.Errorf("revocations %+v, want only the administrator's of the already revoked token", evs)
		}
	})
}

// TestLeakReportLimits: a report of more than 100 values or more than 64 KiB is refused as a
// whole, with a clear problem, and revokes nothing, not even the valid token it holds.
func TestLeakReportLimits(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		tok := e.CreateToken(admin, map[string]any{"subject": "ci"})
		many := make([]string, 101)
		for i := range many {
			many[i] = "x"
		}
		many[100] = tok.AccessToken
		r := e.Do(http.MethodPost, leakPath, map[string]any{"tokens": many}, testenv.Lenient)
		if p := testenv.WantProblem(t, r, http.StatusBadRequest); p.Code != "invalid_field" || !strings.Contains(p.Detail, "at most 100") {
			t.Errorf("101 values: %s %s", p.Code, p.Detail)
		}
		big := []string{tok.AccessToken, strings.Repeat("A", 65<<10)}
		r = e.Do(http.MethodPost, leakPath, map[string]any{"tokens": big}, testenv.Lenient)
		if p := testenv.WantProblem(t, r, http.StatusRequestEntityTooLarge); p.Code != "too_large" {
			t.Errorf("over 64 KiB: %s", p.Code)
		}
		r = e.Do(http.MethodPost, leakPath, `{"tokens": "`+tok.AccessToken+`"}`, testenv.Lenient)
		if p := testenv.WantProblem(t, r, http.StatusBadRequest); p.Code != "wrong_type" || strings.Contains(string(r.Body), tok.AccessToken) {
			t.Errorf("tokens a string: %s %s", p.Code, r.Body)
		}
		r = e.Do(http.MethodPost, leakPath, map[string]any{"tokens": []string{tok.AccessToken}, "source": "line\nbreak"}, testenv.Lenient)
		if p := testenv.WantProblem(t, r, http.StatusBadRequest); p.Code != "invalid_field" {
			t.Errorf("source with a line break: %s", p.Code)
		}
		wantWorks(t, e, tok.AccessToken)
		if evs := e.AuditEvents("token.revoked"); len(evs) != 0 {
			t.Errorf("refused reports revoked: %+v", evs)
		}
	})
}

// TestLeakReportRateLimitedPerAddress: reports are limited per client address (after
// TRUSTED_PROXIES); a forged X-Forwarded-For from a client that is no listed proxy does not
// buy more.
func TestLeakReportRateLimitedPerAddress(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		limit := map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "3"}
		direct := testenv.Start(t, db, testenv.Settings{Env: limit})
		for i := range 4 {
			r := direct.Do(http.MethodPost, leakPath, map[string]any{"tokens": []string{"x"}}, testenv.Header("X-Forwarded-For", "203.0.113."+itoa(i+1)))
			if i < 3 {
				wantReceived(t, r, 1)
				continue
			}
			if p := testenv.WantProblem(t, r, http.StatusTooManyRequests); p.Code != "rate_limited" || r.Header.Get("Retry-After") == "" {
				t.Errorf("4th report from one address: %s, Retry-After %q", p.Code, r.Header.Get("Retry-After"))
			}
		}

		proxied := map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "3", "TRUSTED_PROXIES": "127.0.0.1"}
		e := testenv.Start(t, db, testenv.Settings{Env: proxied})
		from := func(addr string) *testenv.Response {
			return e.Do(http.MethodPost, leakPath, map[string]any{"tokens": []string{"x"}}, testenv.Header("X-Forwarded-For", addr))
		}
		for range 3 {
			wantReceived(t, from("198.51.100.1"), 1)
		}
		testenv.WantProblem(t, from("198.51.100.1"), http.StatusTooManyRequests)
		wantReceived(t, from("198.51.100.2"), 1) // another client has its own budget
		e.Clock.Advance(time.Minute)
		wantReceived(t, from("198.51.100.1"), 1)
	})
}

// TestLeakReportEndsSessions: a session token in a report ends its session (its cookie and
// every session token taken from it), audited as auth.session_ended with the source.
func TestLeakReportEndsSessions(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		st := e.SessionToken(admin)
		wantReceived(t, reportLeak(e, "https://ci.example/build/7", st), 1)
		testenv.WantInvalidToken(t, e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Bearer(st)), st)
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, e.As(admin)); r.Status != http.StatusUnauthorized {
			t.Errorf("the session's cookie still works: %d", r.Status)
		}
		evs := e.AuditEvents("auth.session_ended")
		if len(evs) != 1 || evs[0].Actor != "leak-report" || evs[0].Details["source"] != "https://ci.example/build/7" {
			t.Errorf("audit: %+v", evs)
		}
	})
}

type identified struct {
	TokenID          string  `json:"tokenId"`
	Sub              string  `json:"sub"`
	Status           string  `json:"status"`
	RevocationReason *string `json:"revocationReason"`
}

// TestIdentifyToken: an administrator finds a token by its value, active or ended, with its
// status; a value that is not ours (forged, another issuer, a session token, garbage) is a 404
// that says no more; nobody but an administrator may ask.
func TestIdentifyToken(t *testing.T) {
	t.Parallel()
	testenv.ForEachServerWith(t, testenv.Settings{Env: map[string]string{"SERVICE_TOKEN_TTL": "30d"}}, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		identify := func(v string, opts ...testenv.Opt) *testenv.Response {
			return e.Do(http.MethodPost, "/api/tokens/identify", map[string]any{"token": v}, opts...)
		}
		want := func(v, id, status string) identified {
			t.Helper()
			r := identify(v, e.As(admin))
			var got identified
			r.JSON(t, &got)
			if r.Status != http.StatusOK || got.TokenID != id || got.Status != status || r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("identify: %d %s, want %s %s", r.Status, r.Body, id, status)
			}
			return got
		}
		active := e.CreateToken(admin, map[string]any{"subject": "ci"})
		want(active.AccessToken, active.TokenID, "active")
		wantReceived(t, reportLeak(e, "", active.AccessToken), 1)
		if got := want(active.AccessToken, active.TokenID, "revoked"); got.RevocationReason == nil || *got.RevocationReason != "leaked" {
			t.Errorf("revoked by a leak report: reason %v, want leaked", got.RevocationReason)
		}
		rotated := e.CreateToken(admin, map[string]any{"subject": "ci"})
		e.Rotate(admin, rotated.TokenID, map[string]any{"gracePeriod": "2h"})
		want(rotated.AccessToken, rotated.TokenID, "rotated")
		expiring := e.CreateToken(admin, map[string]any{"subject": "ci"})
		e.Clock.Advance(31 * 24 * time.Hour)
		admin = e.SignIn("admin@example.com", true)
		want(expiring.AccessToken, expiring.TokenID, "expired")

		header, claims := jwttest.Parts(t, expiring.AccessToken)
		kid := map[string]any{"kid": header["kid"]}
		key := []byte(testenv.SigningKey)
		for name, v := range map[string]string{
			"another key":    jwttest.Sign(t, jwt.SigningMethodHS256, []byte("another-deployment-signing-key-0123456789"), kid, claims),
			"another issuer": jwttest.Sign(t, jwt.SigningMethodHS256, key, kid, jwttest.With(claims, map[string]any{"iss": "someone-else"})),
			"unknown id":     jwttest.Sign(t, jwt.SigningMethodHS256, key, kid, jwttest.With(claims, map[string]any{"jti": "AAAAAAAAAAAAAAAAAAAAAA"})),
			"session token":  e.SessionToken(admin),
			"garbage":        "eyJ.eyJ.x",
			"empty":          "",
		} {
			if p := testenv.WantProblem(t, identify(v, e.As(admin)), http.StatusNotFound); p.Code != "not_found" {
				t.Errorf("%s: %s", name, p.Code)
			}
		}

		viewer := e.SignIn("viewer@example.com", false)
		if p := testenv.WantProblem(t, identify(expiring.AccessToken, e.As(viewer)), http.StatusForbidden); p.Code != "not_admin" {
			t.Errorf("non-administrator: %s", p.Code)
		}
		if p := testenv.WantProblem(t, identify(expiring.AccessToken), http.StatusUnauthorized); p.Code != "credentials_missing" {
			t.Errorf("no credential: %s", p.Code)
		}
		if p := testenv.WantProblem(t, identify(expiring.AccessToken, testenv.Cookie(admin)), http.StatusForbidden); p.Code != "csrf_invalid" {
			t.Errorf("cookie without CSRF token: %s", p.Code)
		}
		svc := e.CreateToken(admin, map[string]any{"subject": "ci"})
		e.Sync() // the clock moved a month: the feed is read again, as every 250 ms
		if p := testenv.WantProblem(t, identify(expiring.AccessToken, testenv.Bearer(svc.AccessToken)), http.StatusForbidden); p.Code != "admin_required" {
			t.Errorf("service token: %s", p.Code)
		}
	})
}

// TestLeakedValuesStayOutOfLogsAndDatabase: the values sent to report-leak and identify appear
// in no log line and in no table.
func TestLeakedValuesStayOutOfLogsAndDatabase(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		a := e.CreateToken(admin, map[string]any{"subject": "ci"})
		b := e.CreateToken(admin, map[string]any{"subject": "ci"})
		e.Do(http.MethodPost, "/api/tokens/identify", map[string]any{"token": b.AccessToken}, e.As(admin))
		wantReceived(t, reportLeak(e, "https://example.com/leak?t="+a.AccessToken, a.AccessToken, "eyJnot-a-token.secret-looking-value.x"), 2)
		if evs := e.AuditEvents("token.revoked"); len(evs) != 1 || evs[0].Details["source"] != "https://example.com/leak?t=[token]" {
			t.Errorf("a source holding the value is kept with it masked: %+v", evs)
		}
		// A malformed report is refused without echoing it either.
		e.Do(http.MethodPost, leakPath, `{"tokens": ["`+b.AccessToken+`"], "tokens": []}`, testenv.Lenient)
		dump := testenv.DumpTables(t, e.DB, "service_tokens", "audit_events", "notification_events", "service_users", "admin_sessions")
		for _, v := range []string{a.AccessToken, b.AccessToken, "secret-looking-value"} {
			sig := v[strings.LastIndex(v, ".")+1:]
			if v == "secret-looking-value" {
				sig = v
			}
			if strings.Contains(e.Logs.String(), sig) {
				t.Errorf("the logs hold a reported value")
			}
			if strings.Contains(dump, sig) {
				t.Errorf("the database holds a reported value")
			}
		}
	})
}

// TestGitleaksRuleFindsTokens holds the README's gitleaks rule to the tokens this server
// issues: it finds a service token and a session token in text around them, and neither a
// token of another audience nor a truncated one.
func TestGitleaksRuleFindsTokens(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`id = "codemetrics-token"[^\n]*\n[^\n]*\nregex = '''([^\n]*)'''`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no gitleaks rule codemetrics-token")
	}
	rule := regexp.MustCompile(string(m[1]))
	e := testenv.Start(t, testenv.SQLite(t))
	admin := e.SignIn("admin@example.com", true)
	for _, sc := range [][]string{{"metrics:read"}, {"metrics:read", "pipeline:write"}} {
		tok := e.CreateToken(admin, map[string]any{"subject": "ci-" + strings.Join(sc, "-"), "scopes": sc, "workloads": []string{"*"}})
		for _, text := range []string{tok.AccessToken, "export CM_TOKEN=" + tok.AccessToken + "\n", `"token": "` + tok.AccessToken + `",`} {
			if got := rule.FindStringSubmatch(text); got == nil || got[1] != tok.AccessToken {
				t.Errorf("the rule misses a service token in %q: %v", text, got)
			}
		}
		if rule.MatchString(tok.AccessToken[:len(tok.AccessToken)-2]) {
			t.Error("the rule matches a truncated token")
		}
		header, claims := jwttest.Parts(t, tok.AccessToken)
		other := jwttest.Sign(t, jwt.SigningMethodHS256, []byte(testenv.SigningKey), map[string]any{"kid": header["kid"]}, jwttest.With(claims, map[string]any{"aud": "another-api"}))
		if rule.MatchString(other) {
			t.Error("the rule matches a token of another audience")
		}
	}
	if st := e.SessionToken(admin); !rule.MatchString(st) {
		t.Errorf("the rule misses a session token")
	}
}

// TestLeakReportTakesPreviousKeys: during a signing-key rotation, a token signed with the
// previous key (which still verifies) is revoked when reported, as one signed with the current.
func TestLeakReportTakesPreviousKeys(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		old := testenv.Start(t, db)
		admin := old.SignIn("admin@example.com", true)
		tok := old.CreateToken(admin, map[string]any{"subject": "ci"})
		rotated := testenv.Start(t, db, testenv.Settings{Env: map[string]string{
			"TOKEN_SIGNING_KEY": "the-new-test-only-signing-key-9876543210-zyxwvuts", "TOKEN_SIGNING_KEYS_PREVIOUS": testenv.SigningKey,
		}})
		rotated.Sync()
		wantWorks(t, rotated, tok.AccessToken)
		wantReceived(t, reportLeak(rotated, "", tok.AccessToken), 1)
		wantRevokedOn(t, rotated, tok.AccessToken)
		old.Sync()
		wantRevokedOn(t, old, tok.AccessToken)
	})
}
