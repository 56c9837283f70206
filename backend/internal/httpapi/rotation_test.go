package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/testenv/jwttest"
)

func apiTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(testenv.TimeFormat, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return at
}

// selfOf is GET /api/tokens/self with tok.
type selfOf struct {
	TokenID     string   `json:"tokenId"`
	Scopes      []string `json:"scopes"`
	Expires     string   `json:"expires"`
	Description string   `json:"description"`
	Status      string   `json:"status"`
	ReplacedBy  *string  `json:"replacedBy"`
	Ends        string   `json:"ends"`
}

func tokenSelf(t *testing.T, e *testenv.Env, tok string) (selfOf, *testenv.Response) {
	t.Helper()
	var s selfOf
	r := e.GetJSON("/api/tokens/self", &s, testenv.Bearer(tok))
	return s, r
}

// TestRotationGracePeriodOnTwoInstances: a token rotated on instance a keeps working on a and b
// until the very second its grace period ends, each answer saying so in
// CodeMetrics-Token-Expiration; from that second on both refuse it (401 token_rotated) after
// nothing but their feed reads, at no database statement per request, while the successor (same
// service user, scopes, description and lifetime) works. token.rotated and token.grace_ended
// reach each destination exactly once, both instances running their due checks together.
func TestRotationGracePeriodOnTwoInstances(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		recv := testenv.NewReceiver(t)
		env := testenv.NotifyEnv(recv.URL + "/hook")
		clock := testenv.NewClock()
		var bQueries atomic.Int64
		a := testenv.Start(t, db, testenv.Settings{Env: env, Clock: clock})
		b := testenv.Start(t, db, testenv.Settings{Env: env, Clock: clock, Store: store.Options{Queries: &bQueries}})
		admin := a.SignIn("admin@example.com", true)
		old := a.CreateToken(admin, map[string]any{"subject": "nightly-export", "expiresIn": "40d", "description": "team A's export"})
		clock.Advance(time.Hour) // the successor's lifetime is the old one's, not what is left of it
		for _, e := range []*testenv.Env{a, b} {
			e.Sync()
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(old.AccessToken)); r.Status != http.StatusOK {
				t.Fatalf("before the rotation: %d %s", r.Status, r.Body)
			}
		}

		r := a.Do(http.MethodPost, "/api/tokens/"+old.TokenID+"/rotate", map[string]any{"gracePeriod": "2h"}, a.As(admin))
		if r.Status != http.StatusCreated || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("rotate: %d %s %v", r.Status, r.Body, r.Header)
		}
		var rot testenv.RotatedToken
		r.JSON(t, &rot)
		graceEnd := clock.Now().Add(2 * time.Hour)
		if rot.Replaces != old.TokenID || rot.ReplacedTokenEnds != graceEnd.Format(testenv.TimeFormat) ||
			rot.Expires != clock.Now().Add(40*24*time.Hour).Format(testenv.TimeFormat) || rot.TokenID == old.TokenID {
			t.Errorf("rotation %+v: want replaces %s, the grace end %s, a 40-day successor", rot, old.TokenID, graceEnd)
		}
		_, claims := jwttest.Parts(t, rot.AccessToken)
		if claims["sub"] != "nightly-export" || claims["scope"] != "metrics:read" {
			t.Errorf("successor claims %v: want the old token's subject and scopes", claims)
		}
		succ, _ := tokenSelf(t, a, rot.AccessToken)
		if succ.Description != "team A's export" || succ.Status != "active" || succ.ReplacedBy != nil || succ.Ends != rot.Expires {
			t.Errorf("successor %+v", succ)
		}
		if evs := a.AuditEvents("token.rotated"); len(evs) != 1 || evs[0].Target != old.TokenID || evs[0].Details["successor"] != rot.TokenID || evs[0].Actor != "admin@example.com" {
			t.Errorf("audit %+v", evs)
		}
		if evs := a.AuditEvents("token.created"); len(evs) != 2 || evs[0].Target != rot.TokenID || evs[0].Details["replaces"] != old.TokenID {
			t.Errorf("the successor's token.created: %+v", evs)
		}
		runTogether(t, a, b)

		wantHeader := graceEnd.UTC().Format(time.RFC3339)
		clock.Set(graceEnd.Add(-time.Second))
		for _, e := range []*testenv.Env{a, b} {
			e.Sync()
			for _, path := range []string{"/api/system/config", "/api/tokens/self"} {
				r := e.Do(http.MethodGet, path, nil, testenv.Bearer(old.AccessToken))
				if r.Status != http.StatusOK || r.Header.Get("CodeMetrics-Token-Expiration") != wantHeader {
					t.Errorf("one second before the grace end: %s %d, CodeMetrics-Token-Expiration %q, want 200 and %s", path, r.Status, r.Header.Get("CodeMetrics-Token-Expiration"), wantHeader)
				}
			}
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(rot.AccessToken)); r.Status != http.StatusOK {
				t.Errorf("the successor: %d %s", r.Status, r.Body)
			}
		}
		// Knowing when the grace period ends costs a request nothing.
		bQueries.Store(0)
		for range 5 {
			if r := b.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(old.AccessToken)); r.Status != http.StatusOK {
				t.Errorf("in the grace period: %d", r.Status)
			}
		}
		if n := bQueries.Load(); n != 0 {
			t.Errorf("instance b sent %d statements for five requests of a rotated token", n)
		}
		self, r := tokenSelf(t, b, old.AccessToken)
		if self.Status != "rotated" || self.ReplacedBy == nil || *self.ReplacedBy != rot.TokenID || self.Ends != rot.ReplacedTokenEnds || r.Header.Get("CodeMetrics-Token-Expiration") != wantHeader {
			t.Errorf("tokens/self of the old token in its grace period: %+v", self)
		}

		for _, at := range []time.Time{graceEnd, graceEnd.Add(time.Minute)} {
			clock.Set(at)
			for _, e := range []*testenv.Env{a, b} {
				e.Sync()
				r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(old.AccessToken))
				testenv.WantInvalidToken(t, r, old.AccessToken)
				if p := testenv.WantProblem(t, r, http.StatusUnauthorized); p.Code != "token_rotated" || !strings.Contains(p.Detail, "successor") {
					t.Errorf("at %s: %s", at, r.Body)
				}
				if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(rot.AccessToken)); r.Status != http.StatusOK {
					t.Errorf("the successor after the grace end: %d %s", r.Status, r.Body)
				}
			}
		}
		// A restarted instance reads the rotation from the start of the feed.
		c := testenv.Start(t, db, testenv.Settings{Env: env, Clock: clock})
		if p := testenv.WantProblem(t, c.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(old.AccessToken)), http.StatusUnauthorized); p.Code != "token_rotated" {
			t.Errorf("a new instance: %+v", p)
		}

		runTogether(t, a, b, c)
		clock.Advance(time.Hour)
		runTogether(t, a, b, c)
		var got []string
		for _, h := range recv.Hits("/hook") {
			body := verifyHook(t, h, time.Time{})
			if body.TokenID != old.TokenID || body.Expires != rot.ReplacedTokenEnds {
				t.Errorf("%s: token %s expires %s, want %s and the grace end %s", body.Event, body.TokenID, body.Expires, old.TokenID, rot.ReplacedTokenEnds)
			}
			got = append(got, body.Event)
		}
		if want := []string{"token.rotated", "token.grace_ended"}; !slices.Equal(got, want) {
			t.Errorf("received %v, want each once: %v", got, want)
		}
	})
}

// TestRotationIsNeverRepeated: a second rotation of a token, by an administrator or by the
// token itself (a retry after a lost answer), is a 409 naming the successor and changes
// nothing: the successor keeps working, the old token keeps its grace period. Rotations racing
// on one token make exactly one successor.
func TestRotationIsNeverRepeated(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		mkRotatable(t, e, admin, "pipeline")
		old := e.CreateToken(admin, map[string]any{"subject": "pipeline", "scopes": []string{"metrics:read", "tokens:rotate"}})
		first := e.Rotate(admin, old.TokenID, map[string]any{"gracePeriod": "1h"})
		before := testenv.DumpTables(t, e.DB, "service_tokens", "revocation_feed")
		for _, again := range []*testenv.Response{
			e.Do(http.MethodPost, "/api/tokens/"+old.TokenID+"/rotate", map[string]any{"gracePeriod": "0s"}, e.As(admin)),
			e.Do(http.MethodPost, "/api/tokens/"+old.TokenID+"/rotate", nil, e.As(admin)),
			e.Do(http.MethodPost, "/api/tokens/self/rotate", map[string]any{"gracePeriod": "0s"}, testenv.Bearer(old.AccessToken)),
		} {
			if p := testenv.WantProblem(t, again, http.StatusConflict); p.Code != "token_already_rotated" || !strings.Contains(p.Detail, first.TokenID) {
				t.Errorf("second rotation: %s", again.Body)
			}
		}
		if after := testenv.DumpTables(t, e.DB, "service_tokens", "revocation_feed"); after != before {
			t.Errorf("a refused rotation changed the database:\n%s\nwas\n%s", after, before)
		}
		e.Sync()
		for _, tok := range []string{old.AccessToken, first.AccessToken} {
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok)); r.Status != http.StatusOK {
				t.Errorf("after the refused rotations: %d %s", r.Status, r.Body)
			}
		}
		// The successor rotates in its turn.
		second := e.Rotate(admin, first.TokenID, nil)
		if second.Replaces != first.TokenID {
			t.Errorf("rotation of the successor: %+v", second)
		}

		// Eight rotations of one token at once: one successor, seven 409s.
		racing := e.CreateToken(admin, map[string]any{"subject": "pipeline"})
		var wg sync.WaitGroup
		statuses := make([]int, 8)
		for i := range statuses {
			wg.Go(func() {
				statuses[i] = e.Do(http.MethodPost, "/api/tokens/"+racing.TokenID+"/rotate", nil, e.As(admin)).Status
			})
		}
		wg.Wait()
		slices.Sort(statuses)
		if want := []int{201, 409, 409, 409, 409, 409, 409, 409}; !slices.Equal(statuses, want) {
			t.Errorf("racing rotations answered %v, want %v", statuses, want)
		}
		successors := 0
		for _, l := range e.ListTokensWith(admin, "status=all") {
			if l.Replaces != nil && *l.Replaces == racing.TokenID {
				successors++
			}
		}
		if successors != 1 {
			t.Errorf("%d successors of the raced token, want 1", successors)
		}
	})
}

// mkRotatable creates the service user name holding metrics:read and tokens:rotate.
func mkRotatable(t *testing.T, e *testenv.Env, admin testenv.Session, name string) {
	t.Helper()
	r := e.Do(http.MethodPost, "/api/service-users", map[string]any{"name": name, "scopes": []string{"metrics:read", "pipeline:write", "tokens:rotate"}, "workloads": []string{"team-a"}}, e.As(admin))
	if r.Status != http.StatusCreated {
		t.Fatalf("service user: %d %s", r.Status, r.Body)
	}
}

// TestSelfRotation: a pipeline's token holding tokens:rotate rotates itself; its successor
// holds exactly its scopes (never its service user's others) and rotates again; a token without
// the scope, a session and a token naming another token are refused.
func TestSelfRotation(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		mkRotatable(t, e, admin, "team-a-ci")
		plain := e.CreateToken(admin, map[string]any{"subject": "team-a-ci", "scopes": []string{"metrics:read"}})
		tok := e.CreateToken(admin, map[string]any{"subject": "team-a-ci", "scopes": []string{"metrics:read", "tokens:rotate"}, "description": "CI of team A"})

		if p := testenv.WantProblem(t, e.Do(http.MethodPost, "/api/tokens/self/rotate", nil, testenv.Bearer(plain.AccessToken)), http.StatusForbidden); p.Code != "scope_missing" || !strings.Contains(p.Detail, "tokens:rotate") {
			t.Errorf("without tokens:rotate: %+v", p)
		}
		if p := testenv.WantProblem(t, e.Do(http.MethodPost, "/api/tokens/self/rotate", nil, e.As(admin)), http.StatusForbidden); p.Code != "service_token_required" {
			t.Errorf("a session: %+v", p)
		}
		// A token cannot name another: the administrators' rotation is theirs only.
		if p := testenv.WantProblem(t, e.Do(http.MethodPost, "/api/tokens/"+plain.TokenID+"/rotate", nil, testenv.Bearer(tok.AccessToken)), http.StatusForbidden); p.Code != "admin_required" {
			t.Errorf("a token rotating another: %+v", p)
		}

		r := e.Do(http.MethodPost, "/api/tokens/self/rotate", map[string]any{"gracePeriod": "30m"}, testenv.Bearer(tok.AccessToken))
		if r.Status != http.StatusCreated || r.Header.Get("CodeMetrics-Token-Expiration") != e.Clock.Now().Add(30*time.Minute).UTC().Format(time.RFC3339) {
			t.Fatalf("self-rotation: %d %s %v", r.Status, r.Body, r.Header)
		}
		var rot testenv.RotatedToken
		r.JSON(t, &rot)
		_, claims := jwttest.Parts(t, rot.AccessToken)
		if claims["scope"] != "metrics:read tokens:rotate" {
			t.Errorf("successor scope %q, want exactly the old token's (never the service user's pipeline:write)", claims["scope"])
		}
		s, _ := tokenSelf(t, e, rot.AccessToken)
		if !slices.Equal(s.Scopes, []string{"metrics:read", "tokens:rotate"}) || s.Description != "CI of team A" {
			t.Errorf("successor %+v", s)
		}
		if evs := e.AuditEvents("token.rotated"); len(evs) != 1 || evs[0].Actor != "token:"+tok.TokenID {
			t.Errorf("audit %+v: want the token as the actor", evs)
		}
		// The successor rotates itself at once (no grace): its predecessor stops at once.
		r = e.Do(http.MethodPost, "/api/tokens/self/rotate", map[string]any{"gracePeriod": "0s"}, testenv.Bearer(rot.AccessToken))
		if r.Status != http.StatusCreated {
			t.Fatalf("second self-rotation: %d %s", r.Status, r.Body)
		}
		var third testenv.RotatedToken
		r.JSON(t, &third)
		if p := testenv.WantProblem(t, e.Do(http.MethodGet, "/api/tokens/self", nil, testenv.Bearer(rot.AccessToken)), http.StatusUnauthorized); p.Code != "token_rotated" {
			t.Errorf("rotated with no grace: %+v", p)
		}
		// After its grace period a rotated token cannot rotate (again): it is refused outright.
		e.Clock.Advance(31 * time.Minute)
		e.Sync()
		if p := testenv.WantProblem(t, e.Do(http.MethodPost, "/api/tokens/self/rotate", nil, testenv.Bearer(tok.AccessToken)), http.StatusUnauthorized); p.Code != "token_rotated" {
			t.Errorf("the first token after its grace period: %+v", p)
		}
		if s, _ := tokenSelf(t, e, third.AccessToken); !slices.Equal(s.Scopes, []string{"metrics:read", "tokens:rotate"}) {
			t.Errorf("third generation %+v", s)
		}
	})
}

// TestRotationRules: the grace period's bounds, never past the old token's expiry; what cannot
// be rotated; ending the grace period early by revoking the old token, on both instances, also
// when the rotation was the last entry of the revocation feed an instance read.
func TestRotationRules(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		clock := testenv.NewClock()
		a := testenv.Start(t, db, testenv.Settings{Clock: clock, Env: map[string]string{"ROTATION_GRACE_PERIOD": "3h"}})
		b := testenv.Start(t, db, testenv.Settings{Clock: clock})
		admin := a.SignIn("admin@example.com", true)
		tok := a.CreateToken(admin, map[string]any{"subject": "ci", "expiresIn": "2h"})
		for _, bad := range []string{"8d", "169h", "-1h", "soon", "1x", "", "24"} {
			r := a.Do(http.MethodPost, "/api/tokens/"+tok.TokenID+"/rotate", map[string]any{"gracePeriod": bad}, a.As(admin))
			if p := testenv.WantProblem(t, r, http.StatusBadRequest); p.Code != "invalid_field" || !strings.Contains(p.Detail, "gracePeriod") {
				t.Errorf("gracePeriod %q: %s", bad, r.Body)
			}
		}
		for _, bad := range []string{`{"gracePeriod":24}`, `{"grace":"1h"}`, `[]`} {
			testenv.WantProblem(t, a.Do(http.MethodPost, "/api/tokens/"+tok.TokenID+"/rotate", bad, a.As(admin)), http.StatusBadRequest)
		}
		if p := testenv.WantProblem(t, a.Do(http.MethodPost, "/api/tokens/nope/rotate", nil, a.As(admin)), http.StatusNotFound); p.Code != "not_found" {
			t.Errorf("unknown id: %+v", p)
		}
		// The default grace period (3h here) is cut at the old token's expiry (2h).
		rot := a.Rotate(admin, tok.TokenID, nil)
		if rot.ReplacedTokenEnds != tok.Expires {
			t.Errorf("grace end %s, want the old token's expiry %s", rot.ReplacedTokenEnds, tok.Expires)
		}

		// b's cursor is the rotation's entry; revoking the old token ends its grace period and
		// moves that entry: b reads on, without taking it for a restored database.
		other := a.CreateToken(admin, map[string]any{"subject": "other"})
		otherRot := a.Rotate(admin, other.TokenID, map[string]any{"gracePeriod": "1h"})
		b.Sync()
		for _, e := range []*testenv.Env{a, b} {
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(other.AccessToken)); r.Status != http.StatusOK {
				t.Fatalf("in the grace period: %d %s", r.Status, r.Body)
			}
		}
		if r := a.Do(http.MethodDelete, "/api/tokens/"+other.TokenID+"?reason=moved+to+the+new+one", nil, a.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("end the grace period early: %d %s", r.Status, r.Body)
		}
		b.Sync()
		for _, e := range []*testenv.Env{a, b} {
			if p := testenv.WantProblem(t, e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(other.AccessToken)), http.StatusUnauthorized); p.Code != "token_revoked" {
				t.Errorf("after ending the grace period: %+v", p)
			}
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(otherRot.AccessToken)); r.Status != http.StatusOK {
				t.Errorf("the successor: %d %s", r.Status, r.Body)
			}
		}
		if n, _ := b.Server.Guard.FeedResets(); n != 0 || strings.Contains(b.Logs.String(), "went backwards") {
			t.Errorf("instance b took the moved entry for a replaced feed (%d resets)", n)
		}
		if p := testenv.WantProblem(t, a.Do(http.MethodPost, "/api/tokens/"+other.TokenID+"/rotate", nil, a.As(admin)), http.StatusConflict); p.Code != "token_already_rotated" {
			t.Errorf("rotating a revoked rotated token: %+v", p)
		}
		revoked := a.CreateToken(admin, map[string]any{"subject": "gone"})
		a.Revoke(admin, revoked.TokenID)
		if p := testenv.WantProblem(t, a.Do(http.MethodPost, "/api/tokens/"+revoked.TokenID+"/rotate", nil, a.As(admin)), http.StatusNotFound); !strings.Contains(p.Detail, "revoked or has expired") {
			t.Errorf("rotating a revoked token: %+v", p)
		}
		clock.Advance(3 * time.Hour)
		a.Sync()
		if p := testenv.WantProblem(t, a.Do(http.MethodPost, "/api/tokens/"+otherRot.TokenID+"/rotate", nil, testenv.Bearer(otherRot.AccessToken)), http.StatusForbidden); p.Code != "admin_required" {
			t.Errorf("a service token on the administrators' rotation: %+v", p)
		}
	})
}

// TestCreateTokenLifetimeAndDescription: expiresIn sets the lifetime up to SERVICE_TOKEN_TTL,
// which it never exceeds; the description is kept and shown; refusals say what to send.
func TestCreateTokenLifetimeAndDescription(t *testing.T) {
	t.Parallel()
	testenv.ForEachServerWith(t, testenv.Settings{Env: map[string]string{"SERVICE_TOKEN_TTL": "90d"}}, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		now := e.Clock.Now()
		for _, c := range []struct {
			expiresIn string
			want      time.Duration
		}{{"30d", 30 * 24 * time.Hour}, {"2160h", 90 * 24 * time.Hour}, {"90d", 90 * 24 * time.Hour}, {"1m", time.Minute}, {" 7d ", 7 * 24 * time.Hour}} {
			tok := e.CreateToken(admin, map[string]any{"subject": "ci", "expiresIn": c.expiresIn})
			if got := apiTime(t, tok.Expires); !got.Equal(now.Add(c.want)) {
				t.Errorf("expiresIn %q: expires %s, want %s", c.expiresIn, got, now.Add(c.want))
			}
		}
		if tok := e.CreateToken(admin, map[string]any{"subject": "ci", "expiresIn": nil}); !apiTime(t, tok.Expires).Equal(now.Add(90 * 24 * time.Hour)) {
			t.Errorf("expiresIn null: %s, want SERVICE_TOKEN_TTL", tok.Expires)
		}
		for _, c := range []struct{ expiresIn, says string }{
			{"91d", "longer than SERVICE_TOKEN_TTL (90d)"}, {"2161h", "ask for 90d or less"},
			{"forever", "not a lifetime"}, {"30", "not a lifetime"}, {"1d2h", "not a lifetime"}, {"-1h", "too short"},
			{"0d", "too short"}, {"59s", "too short"}, {"", "expiresIn is empty"}, {"+3d", "not a lifetime"},
		} {
			r := e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "ci", "expiresIn": c.expiresIn}, e.As(admin))
			if p := testenv.WantProblem(t, r, http.StatusBadRequest); p.Code != "invalid_field" || !strings.Contains(p.Detail, c.says) {
				t.Errorf("expiresIn %q: %s, want it to say %q", c.expiresIn, r.Body, c.says)
			}
		}
		if p := testenv.WantProblem(t, e.Do(http.MethodPost, "/api/tokens", `{"subject":"ci","expiresIn":30}`, e.As(admin)), http.StatusBadRequest); p.Code != "wrong_type" {
			t.Errorf("a number: %+v", p)
		}

		long := strings.Repeat("é", 500)
		tok := e.CreateToken(admin, map[string]any{"subject": "described", "description": long})
		if trimmed := e.CreateToken(admin, map[string]any{"subject": "described", "description": "  x  "}); trimmed.TokenID == "" {
			t.Fatal("no token")
		}
		for _, c := range []struct{ desc, says string }{
			{long + "x", "501 characters"}, {"two\nlines", "visible characters"}, {"bidi \u202e", "visible characters"},
		} {
			r := e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "described", "description": c.desc}, e.As(admin))
			if p := testenv.WantProblem(t, r, http.StatusBadRequest); p.Code != "invalid_field" || !strings.Contains(p.Detail, c.says) {
				t.Errorf("description %q: %s", c.desc, r.Body)
			}
		}
		var found bool
		for _, l := range e.ListTokens(admin) {
			if l.TokenID == tok.TokenID {
				found = l.Description == long && l.Status == "active" && l.Ends == tok.Expires
			} else if l.Description != "" && l.Description != "x" {
				t.Errorf("a token without a description lists %q", l.Description)
			}
		}
		if !found {
			t.Error("the described token is not listed with its description")
		}
		if s, _ := tokenSelf(t, e, tok.AccessToken); s.Description != long || s.Status != "active" || s.Ends != tok.Expires {
			t.Errorf("tokens/self %+v", s)
		}
		if evs := e.AuditEvents("token.created"); evs[0].Details["description"] != "x" || evs[1].Details["description"] != long {
			t.Errorf("token.created details %v", evs[0].Details)
		}
	})
}

// TestTokenHistory: ?status= selects active, rotated, expired and revoked tokens (active
// without it, so the docs' plain array keeps its meaning), each listed with who ended it, when
// and why, and which token replaced which; the filter pages as every list does.
func TestTokenHistory(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		active := e.CreateToken(admin, map[string]any{"subject": "active"})
		e.Clock.Advance(time.Second)
		short := e.CreateToken(admin, map[string]any{"subject": "short", "expiresIn": "1h"})
		e.Clock.Advance(time.Second)
		revoked := e.CreateToken(admin, map[string]any{"subject": "revoked"})
		revokedAt := e.Clock.Now()
		if r := e.Do(http.MethodDelete, "/api/tokens/"+revoked.TokenID+"?reason=leaked", nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Fatal(r.Status)
		}
		e.Clock.Advance(time.Second)
		rotated := e.CreateToken(admin, map[string]any{"subject": "rotated"})
		e.Clock.Advance(time.Second)
		succ := e.Rotate(admin, rotated.TokenID, map[string]any{"gracePeriod": "3h"})
		e.Clock.Advance(2 * time.Hour)

		ids := func(query string) []string {
			t.Helper()
			return testenv.TokenIDs(e.ListTokensWith(admin, query))
		}
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"", []string{succ.TokenID, active.TokenID}},
			{"status=active", []string{succ.TokenID, active.TokenID}},
			{"status=rotated", []string{rotated.TokenID}},
			{"status=expired", []string{short.TokenID}},
			{"status=revoked", []string{revoked.TokenID}},
			{"status=active,rotated", []string{succ.TokenID, rotated.TokenID, active.TokenID}},
			{"status=expired,revoked,expired", []string{revoked.TokenID, short.TokenID}},
			{"status=all", []string{succ.TokenID, rotated.TokenID, revoked.TokenID, short.TokenID, active.TokenID}},
			{"status=all&sort=expires", []string{short.TokenID, active.TokenID, revoked.TokenID, rotated.TokenID, succ.TokenID}},
		} {
			if got := ids(c.query); !slices.Equal(got, c.want) {
				t.Errorf("?%s: %v, want %v", c.query, got, c.want)
			}
		}
		var plain []testenv.TokenEntry
		r := e.GetJSON("/api/tokens", &plain, e.As(admin))
		if len(plain) != 2 || r.Header.Get("Link") != "" {
			t.Errorf("the docs' plain array: %d tokens, Link %q", len(plain), r.Header.Get("Link"))
		}

		byID := map[string]testenv.TokenEntry{}
		for _, l := range e.ListTokensWith(admin, "status=all") {
			byID[l.TokenID] = l
		}
		str := func(p *string) string {
			if p == nil {
				return "<nil>"
			}
			return *p
		}
		if l := byID[revoked.TokenID]; l.Status != "revoked" || str(l.RevokedBy) != "admin@example.com" || str(l.RevocationReason) != "leaked" ||
			str(l.Revoked) != revokedAt.Format(testenv.TimeFormat) || l.Ends != str(l.Revoked) {
			t.Errorf("revoked %+v", l)
		}
		if l := byID[rotated.TokenID]; l.Status != "rotated" || str(l.ReplacedBy) != succ.TokenID || l.Replaces != nil || l.Ends != succ.ReplacedTokenEnds || l.Revoked != nil || l.RevokedBy != nil {
			t.Errorf("rotated %+v", l)
		}
		if l := byID[succ.TokenID]; l.Status != "active" || str(l.Replaces) != rotated.TokenID || l.ReplacedBy != nil || l.CreatedBy != "admin@example.com" {
			t.Errorf("successor %+v", l)
		}
		if l := byID[short.TokenID]; l.Status != "expired" || l.Ends != short.Expires || l.RevokedBy != nil {
			t.Errorf("expired %+v", l)
		}
		// Past the grace end the rotated token is still "rotated".
		e.Clock.Advance(2 * time.Hour)
		if got := ids("status=rotated"); !slices.Equal(got, []string{rotated.TokenID}) {
			t.Errorf("rotated after the grace end: %v", got)
		}

		// Paging keeps the filter: X-Total-Count counts it, a cursor continues only it.
		r = e.Do(http.MethodGet, "/api/tokens?status=all&limit=2", nil, e.As(admin))
		link := r.Header.Get("Link")
		if r.Status != http.StatusOK || r.Header.Get("X-Total-Count") != "5" || !strings.Contains(link, "status=all") {
			t.Fatalf("first page: %d total %q link %q", r.Status, r.Header.Get("X-Total-Count"), link)
		}
		next := link[strings.Index(link, "<")+1 : strings.Index(link, ">")]
		var page []testenv.TokenEntry
		e.GetJSON(next, &page, e.As(admin))
		if got := testenv.TokenIDs(page); !slices.Equal(got, []string{revoked.TokenID, short.TokenID}) {
			t.Errorf("second page %v", got)
		}
		cursor := next[strings.Index(next, "cursor=")+7:]
		if i := strings.Index(cursor, "&"); i >= 0 {
			cursor = cursor[:i]
		}
		if p := testenv.WantProblem(t, e.Do(http.MethodGet, "/api/tokens?status=revoked&limit=2&cursor="+cursor, nil, e.As(admin)), http.StatusBadRequest); p.Code != "invalid_cursor" {
			t.Errorf("another filter's cursor: %+v", p)
		}
		for _, bad := range []string{"status=", "status=gone", "status=active,", "status=ACTIVE"} {
			if p := testenv.WantProblem(t, e.Do(http.MethodGet, "/api/tokens?"+bad, nil, e.As(admin)), http.StatusBadRequest); p.Code != "invalid_parameter" || !strings.Contains(p.Detail, "status") {
				t.Errorf("?%s: %+v", bad, p)
			}
		}
	})
}

// TestTokenHistoryRetention: tokens that ended more than TOKEN_HISTORY_RETENTION ago are purged
// in batches, each batch audited with the ids it deleted; younger history stays, as do the
// notifications of kept tokens; old delivered notifications go. A purged token stays refused,
// also on an instance started afterwards, which reads the feed without taking the purge for a
// restored database.
func TestTokenHistoryRetention(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		recv := testenv.NewReceiver(t)
		env := testenv.NotifyEnv(recv.URL + "/hook")
		env["TOKEN_HISTORY_RETENTION"] = "30d"
		env["SERVICE_TOKEN_TTL"] = "60d"
		clock := testenv.NewClock()
		e := testenv.Start(t, db, testenv.Settings{Env: env, Clock: clock})
		admin := e.SignIn("admin@example.com", true)
		expired := e.CreateToken(admin, map[string]any{"subject": "expired", "expiresIn": "1d"})
		revokedOld := e.CreateToken(admin, map[string]any{"subject": "revoked-old", "expiresIn": "2d"})
		e.Revoke(admin, revokedOld.TokenID)
		rotatedOld := e.CreateToken(admin, map[string]any{"subject": "rotated-old", "expiresIn": "3d"})
		succ := e.Rotate(admin, rotatedOld.TokenID, map[string]any{"gracePeriod": "1h"})
		revokedLong := e.CreateToken(admin, map[string]any{"subject": "revoked-long"}) // 60 days
		e.Revoke(admin, revokedLong.TokenID)
		e.Notify() // token.revoked ×2, token.rotated, delivered
		clock.Advance(20 * 24 * time.Hour)
		admin = e.SignIn("admin@example.com", true) // sessions last 8 hours
		young := e.CreateToken(admin, map[string]any{"subject": "young", "expiresIn": "1d"})
		e.Revoke(admin, young.TokenID)
		if n := e.PurgeHistory(); n != 0 {
			t.Fatalf("purged %d tokens before any ended 30 days ago", n)
		}

		clock.Advance(12 * 24 * time.Hour)          // 32 days: the first three ended more than 30 days ago, the successor (3 days) not
		admin = e.SignIn("admin@example.com", true) // sessions last 8 hours
		e.Sync()
		if n := e.PurgeHistory(); n != 3 {
			t.Errorf("purged %d tokens, want the expired, the revoked and the rotated one", n)
		}
		got := testenv.TokenIDs(e.ListTokensWith(admin, "status=all"))
		slices.Sort(got)
		// revoked-long ended 32 days ago but expires only at day 60: kept until then.
		if want := sorted(young.TokenID, revokedLong.TokenID, succ.TokenID); !slices.Equal(got, want) {
			t.Errorf("history after the purge: %v, want %v", got, want)
		}
		evs := e.AuditEvents("token.history_purged")
		if len(evs) != 1 || evs[0].Actor != "system" {
			t.Fatalf("purge audit: %+v", evs)
		}
		purged, _ := evs[0].Details["tokens"].([]any)
		var purgedIDs []string
		for _, id := range purged {
			purgedIDs = append(purgedIDs, id.(string))
		}
		slices.Sort(purgedIDs)
		want := sorted(expired.TokenID, revokedOld.TokenID, rotatedOld.TokenID)
		if !slices.Equal(purgedIDs, want) {
			t.Errorf("audited %v, want %v", purgedIDs, want)
		}
		if n := e.PurgeHistory(); n != 0 {
			t.Errorf("a second purge deleted %d", n)
		}
		// The notifications of purged tokens went with them (delivered more than 30 days ago).
		for _, d := range deliveries(t, e, admin) {
			if d.TokenID != nil && slices.Contains(want, *d.TokenID) {
				t.Errorf("a delivery of a purged token is left: %+v", d)
			}
		}
		// Neither a running nor a new instance lets a purged token in again.
		c := testenv.Start(t, db, testenv.Settings{Env: env, Clock: clock})
		for _, inst := range []*testenv.Env{e, c} {
			for _, tok := range []string{expired.AccessToken, revokedOld.AccessToken, rotatedOld.AccessToken} {
				testenv.WantProblem(t, inst.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok)), http.StatusUnauthorized)
			}
			if p := testenv.WantProblem(t, inst.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(revokedLong.AccessToken)), http.StatusUnauthorized); p.Code != "token_revoked" {
				t.Errorf("the kept revoked token: %+v", p)
			}
		}
		c.Sync()
		if n, _ := c.Server.Guard.FeedResets(); n != 0 {
			t.Errorf("a new instance reset its feed %d times after the purge", n)
		}

		// The token holding the feed's last entry stays, whatever its age, so that no instance's
		// cursor loses its entry.
		clock.Advance(60 * 24 * time.Hour)
		admin = e.SignIn("admin@example.com", true) // sessions last 8 hours
		e.Sync()
		e.PurgeHistory()
		if got := testenv.TokenIDs(e.ListTokensWith(admin, "status=all")); !slices.Equal(got, []string{young.TokenID}) {
			t.Errorf("after everything ended long ago: %v, want only the last revoked token (the feed's last entry)", got)
		}
		c.Sync()
		if n, _ := c.Server.Guard.FeedResets(); n != 0 {
			t.Errorf("feed resets after the purge: %d", n)
		}
	})
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
