package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/testenv/jwttest"
)

// TestSessionToken checks the bearer session token an administrator takes for curl.
func TestSessionToken(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		e.Clock.Advance(1234 * time.Millisecond) // a session that does not start on a whole second
		admin := e.SignIn("admin@example.com", true)
		viewer := e.SignIn("viewer@example.com", false)

		r := e.Do(http.MethodPost, "/api/auth/session-token", nil, e.As(admin))
		if r.Status != http.StatusOK {
			t.Fatalf("session token: %d %s", r.Status, r.Body)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		var st struct {
			SessionToken string `json:"sessionToken"`
			Expires      string `json:"expires"`
		}
		r.JSON(t, &st)
		if st.SessionToken == "" || !testenv.APITime.MatchString(st.Expires) {
			t.Fatalf("session token response %s", r.Body)
		}
		exp, err := time.Parse(time.RFC3339, st.Expires)
		if err != nil {
			t.Fatal(err)
		}
		if exp.After(admin.ExpiresAt) {
			t.Errorf("session token expires %s, after its session (%s)", exp, admin.ExpiresAt)
		}
		if _, claims := jwttest.Parts(t, st.SessionToken); jwttest.Num(t, claims, "exp") > admin.ExpiresAt.Unix() {
			t.Errorf("exp claim %v is after the session's end %d", claims["exp"], admin.ExpiresAt.Unix())
		}

		// curl: bearer only, no cookie, no CSRF token.
		bearer := testenv.Bearer(st.SessionToken)
		r = e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "from-curl"}, bearer)
		if r.Status != http.StatusCreated {
			t.Fatalf("create with the session token: %d %s", r.Status, r.Body)
		}
		var created testenv.CreatedToken
		r.JSON(t, &created)
		r = e.Do(http.MethodGet, "/api/tokens", nil, bearer)
		var l []testenv.TokenEntry
		r.JSON(t, &l)
		if r.Status != http.StatusOK || len(l) != 1 || l[0].TokenID != created.TokenID || l[0].CreatedBy != "admin@example.com" {
			t.Errorf("list with the session token: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodDelete, "/api/tokens/"+created.TokenID, nil, bearer); r.Status != http.StatusNoContent {
			t.Errorf("revoke with the session token: %d %s", r.Status, r.Body)
		}

		// A session token cannot be had by a person who is not an administrator, nor by a
		// service token.
		testenv.WantProblem(t, e.Do(http.MethodPost, "/api/auth/session-token", nil, e.As(viewer)), http.StatusForbidden)
		svc := e.CreateToken(admin, map[string]any{"subject": "svc"})
		testenv.WantProblem(t, e.Do(http.MethodPost, "/api/auth/session-token", nil, testenv.Bearer(svc.AccessToken)), http.StatusForbidden)
	})
}

// TestLogout checks that signing out ends the session and every session token taken from it.
func TestLogout(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		st := e.SessionToken(admin)

		// Without the CSRF token a cross-site form cannot sign the administrator out.
		r := e.Do(http.MethodPost, "/auth/logout", nil, testenv.Cookie(admin))
		testenv.WantProblem(t, r, http.StatusForbidden)
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(admin)); r.Status != http.StatusOK {
			t.Fatalf("after a refused logout the session no longer works: %d %s", r.Status, r.Body)
		}

		r = e.Do(http.MethodPost, "/auth/logout", nil, e.As(admin))
		if r.Status != http.StatusNoContent {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		cleared := false
		for _, c := range (&http.Response{Header: r.Header}).Cookies() {
			if c.Name == admin.Cookie.Name && c.Value == "" && c.MaxAge < 0 {
				cleared = true
			}
		}
		if !cleared {
			t.Errorf("logout does not clear the session cookie: %v", r.Header.Values("Set-Cookie"))
		}

		r = e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(admin))
		testenv.WantProblem(t, r, http.StatusUnauthorized)
		r = e.Do(http.MethodGet, "/api/tokens", nil, testenv.Bearer(st))
		testenv.WantProblem(t, r, http.StatusUnauthorized)
		r = e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "after-logout"}, testenv.Bearer(st))
		testenv.WantProblem(t, r, http.StatusUnauthorized)
		r = e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "after-logout"}, e.As(admin))
		testenv.WantProblem(t, r, http.StatusUnauthorized)

		other := e.SignIn("other@example.com", true)
		e.WantNoTokens(other)
	})
}

// TestSessionExpiry checks a session and its session tokens end after 8 hours.
func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		st := e.SessionToken(admin)

		e.Clock.Advance(8*time.Hour - time.Second)
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(admin)); r.Status != http.StatusOK {
			t.Errorf("one second before the end the cookie is refused: %d", r.Status)
		}
		if r := e.Do(http.MethodGet, "/api/tokens", nil, testenv.Bearer(st)); r.Status != http.StatusOK {
			t.Errorf("one second before the end the session token is refused: %d", r.Status)
		}

		e.Clock.Advance(time.Second)
		for _, c := range []struct {
			name         string
			method, path string
			opt          testenv.Opt
		}{
			{"cookie me", http.MethodGet, "/api/auth/me", testenv.Cookie(admin)},
			{"cookie list", http.MethodGet, "/api/tokens", testenv.Cookie(admin)},
			{"cookie create", http.MethodPost, "/api/tokens", e.As(admin)},
			{"session token list", http.MethodGet, "/api/tokens", testenv.Bearer(st)},
			{"session token create", http.MethodPost, "/api/tokens", testenv.Bearer(st)},
		} {
			var body any
			if c.method == http.MethodPost {
				body = map[string]any{"subject": "late"}
			}
			r := e.Do(c.method, c.path, body, c.opt)
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s after 8 hours: %d %s, want 401", c.name, r.Status, r.Body)
			}
		}
		fresh := e.SignIn("admin@example.com", true)
		e.WantNoTokens(fresh)
	})
}

// TestMe checks GET /api/auth/me.
func TestMe(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		type me struct {
			Email     string  `json:"email"`
			Name      string  `json:"name"`
			IsAdmin   bool    `json:"isAdmin"`
			Expires   string  `json:"expires"`
			CSRFToken *string `json:"csrfToken"`
		}
		r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(admin))
		if r.Status != http.StatusOK {
			t.Fatalf("me: %d %s", r.Status, r.Body)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		var m me
		r.JSON(t, &m)
		wantExp := admin.ExpiresAt.UTC().Format(testenv.TimeFormat)
		if m.Email != "admin@example.com" || m.Name != "admin" || !m.IsAdmin || m.Expires != wantExp || m.CSRFToken == nil || *m.CSRFToken != admin.CSRF {
			t.Errorf("me via cookie = %s, want admin@example.com, admin, isAdmin, expires %s and the CSRF token", r.Body, wantExp)
		}

		st := e.SessionToken(admin)
		r = e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Bearer(st))
		var mb me
		r.JSON(t, &mb)
		if r.Status != http.StatusOK || mb.Email != "admin@example.com" || !mb.IsAdmin || mb.CSRFToken != nil {
			t.Errorf("me via session token = %d %s, want the administrator and no CSRF token", r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), admin.CSRF) {
			t.Errorf("me via session token hands out the CSRF token: %s", r.Body)
		}
	})
}

// TestIdleSessionEnds: a session unused for SESSION_IDLE_TIMEOUT ends, cookie and session token
// alike; one in use lives on. Last use is written at most once a minute, not per request.
func TestIdleSessionEnds(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db, testenv.Settings{Env: map[string]string{"SESSION_IDLE_TIMEOUT": "1h"}})
		busy := e.SignIn("busy@example.com", true)
		idle := e.SignIn("idle@example.com", true)
		idleTok := e.SessionToken(idle)
		lastSeen := func(id string) time.Time {
			s, err := e.Server.Store.SessionByID(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			return s.LastSeenAt
		}

		start := e.Clock.Now()
		e.Clock.Advance(30 * time.Second)
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(busy)); r.Status != http.StatusOK {
			t.Fatalf("me: %d", r.Status)
		}
		if got := lastSeen(busy.ID); !got.Equal(start.Truncate(time.Millisecond)) {
			t.Errorf("last seen written within the minute: %v, want %v", got, start)
		}
		for range 3 {
			e.Clock.Advance(50 * time.Minute)
			if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(busy)); r.Status != http.StatusOK {
				t.Fatalf("a session in use ended: %d", r.Status)
			}
		}
		for name, opt := range map[string]testenv.Opt{"cookie": testenv.Cookie(idle), "session token": testenv.Bearer(idleTok)} {
			if r := e.Do(http.MethodGet, "/api/auth/me", nil, opt); r.Status != http.StatusUnauthorized {
				t.Errorf("idle session's %s after 2.5h: %d", name, r.Status)
			}
		}
		// The idle session is no longer listed; the busy one is.
		if list, _ := listSessions(t, e, busy); len(list) != 1 || list[0].Email != "busy@example.com" {
			t.Errorf("sessions: %+v", list)
		}
	})
}
