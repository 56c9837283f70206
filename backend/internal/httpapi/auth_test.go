package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestWhoMayCallWhat runs every endpoint as every kind of caller.
func TestWhoMayCallWhat(t *testing.T) {
	t.Parallel()
	type endpoint struct {
		name, method, path string // path "" + victim for the DELETE
		body               any
	}
	endpoints := []endpoint{
		{"create token", http.MethodPost, "/api/tokens", map[string]any{"subject": "minted-by-caller"}},
		{"list tokens", http.MethodGet, "/api/tokens", nil},
		{"revoke token", http.MethodDelete, "/api/tokens/", nil},
		{"system config", http.MethodGet, "/api/system/config", nil},
		{"me", http.MethodGet, "/api/auth/me", nil},
		{"session token", http.MethodPost, "/api/auth/session-token", nil},
	}
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
		viewer := e.SignIn("viewer@example.com", false)
		service := e.CreateToken(admin, map[string]any{"subject": "pipeline", "scopes": []string{"metrics:read", "pipeline:write"}, "workloads": []string{"*"}})
		e.Clock.Advance(time.Second)
		victim := e.CreateToken(admin, map[string]any{"subject": "victim"})

		callers := []struct {
			name string
			opts []testenv.Opt
			want map[string]int
		}{
			{"no credentials", nil, map[string]int{
				"create token": 401, "list tokens": 401, "revoke token": 401,
				"system config": 401, "me": 401, "session token": 401,
			}},
			{"service token", []testenv.Opt{testenv.Bearer(service.AccessToken)}, map[string]int{
				"create token": 403, "list tokens": 403, "revoke token": 403,
				"system config": 200, "me": 403, "session token": 403,
			}},
			{"non-administrator", []testenv.Opt{e.As(viewer)}, map[string]int{
				"create token": 403, "list tokens": 403, "revoke token": 403,
				"system config": 403, "me": 200, "session token": 403,
			}},
			{"administrator", []testenv.Opt{e.As(admin)}, map[string]int{
				"create token": 201, "list tokens": 200, "revoke token": 204,
				"system config": 200, "me": 200, "session token": 200,
			}},
		}
		for _, c := range callers {
			t.Run(c.name, func(t *testing.T) {
				for _, ep := range endpoints {
					path := ep.path
					if ep.method == http.MethodDelete {
						path += victim.TokenID
					}
					r := e.Do(ep.method, path, ep.body, c.opts...)
					want := c.want[ep.name]
					if r.Status != want {
						t.Errorf("%s %s: %d %s, want %d", ep.method, path, r.Status, r.Body, want)
						continue
					}
					switch want {
					case 401:
						wantProblem(t, r, 401)
						if h := r.Header.Get("WWW-Authenticate"); h != `Bearer realm="codemetrics"` {
							t.Errorf("%s %s: WWW-Authenticate %q, want Bearer realm=\"codemetrics\"", ep.method, path, h)
						}
					case 403:
						wantProblem(t, r, 403)
					}
					if ep.name == "me" && want == 200 {
						var me struct {
							Email   string `json:"email"`
							IsAdmin *bool  `json:"isAdmin"`
						}
						r.JSON(t, &me)
						isAdmin := c.name == "administrator"
						if me.IsAdmin == nil || *me.IsAdmin != isAdmin {
							t.Errorf("me as %s: isAdmin %v, want %v: %s", c.name, me.IsAdmin, isAdmin, r.Body)
						}
					}
				}
				if c.name != "administrator" {
					// Nothing was minted or revoked.
					got := ids(listTokens(t, e, admin))
					if !slices.Equal(got, []string{victim.TokenID, service.TokenID}) {
						t.Errorf("after the calls of %s the tokens are %v, want the two made by the test", c.name, got)
					}
					if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(victim.AccessToken)); r.Status != http.StatusOK {
						t.Errorf("the victim token no longer works: %d", r.Status)
					}
				}
			})
		}
	})
}

// TestCookieStateChangesNeedCSRF checks that the session cookie alone, as a cross-site form or
// script would send it, cannot create or revoke tokens.
func TestCookieStateChangesNeedCSRF(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
		other := e.SignIn("other-admin@example.com", true)
		victim := e.CreateToken(admin, map[string]any{"subject": "victim"})

		if r := e.Do(http.MethodGet, "/api/tokens", nil, testenv.Cookie(admin)); r.Status != http.StatusOK {
			t.Errorf("GET /api/tokens with the cookie: %d %s, want 200", r.Status, r.Body)
		}

		attempts := []struct {
			name string
			opts []testenv.Opt
		}{
			{"cookie only", []testenv.Opt{testenv.Cookie(admin)}},
			{"cookie and same-origin Origin, no CSRF token", []testenv.Opt{testenv.Cookie(admin), testenv.Header("Origin", e.URL)}},
			{"wrong CSRF token", []testenv.Opt{testenv.Cookie(admin), testenv.Header("X-CSRF-Token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")}},
			{"CSRF token of another session", []testenv.Opt{testenv.Cookie(admin), testenv.Header("X-CSRF-Token", other.CSRF)}},
			{"CSRF token with a suffix", []testenv.Opt{testenv.Cookie(admin), testenv.Header("X-CSRF-Token", admin.CSRF+"x")}},
			{"right CSRF token from a foreign Origin", []testenv.Opt{e.As(admin), testenv.Header("Origin", "https://evil.example")}},
			{"right CSRF token from Origin null", []testenv.Opt{e.As(admin), testenv.Header("Origin", "null")}},
			{"right CSRF token, Sec-Fetch-Site cross-site", []testenv.Opt{testenv.Cookie(admin), testenv.Header("X-CSRF-Token", admin.CSRF), testenv.Header("Sec-Fetch-Site", "cross-site")}},
			{"right CSRF token, Sec-Fetch-Site same-site", []testenv.Opt{testenv.Cookie(admin), testenv.Header("X-CSRF-Token", admin.CSRF), testenv.Header("Sec-Fetch-Site", "same-site")}},
		}
		for _, a := range attempts {
			t.Run(a.name, func(t *testing.T) {
				for _, req := range []struct {
					method, path string
					body         any
				}{
					{http.MethodPost, "/api/tokens", map[string]any{"subject": "forged"}},
					{http.MethodDelete, "/api/tokens/" + victim.TokenID, nil},
					{http.MethodPost, "/api/auth/session-token", nil},
				} {
					r := e.Do(req.method, req.path, req.body, a.opts...)
					if r.Status != http.StatusForbidden {
						t.Errorf("%s %s: %d %s, want 403", req.method, req.path, r.Status, r.Body)
						continue
					}
					wantProblem(t, r, http.StatusForbidden)
				}
				if got := ids(listTokens(t, e, admin)); !slices.Equal(got, []string{victim.TokenID}) {
					t.Errorf("tokens are %v, want only the victim, unrevoked", got)
				}
			})
		}

		// The portal's own request, for contrast, works.
		if r := e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "real"}, e.As(admin)); r.Status != http.StatusCreated {
			t.Errorf("create with cookie, CSRF token and same Origin: %d %s", r.Status, r.Body)
		}
	})
}

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
		if st.SessionToken == "" || !apiTime.MatchString(st.Expires) {
			t.Fatalf("session token response %s", r.Body)
		}
		exp, err := time.Parse(time.RFC3339, st.Expires)
		if err != nil {
			t.Fatal(err)
		}
		if exp.After(admin.ExpiresAt) {
			t.Errorf("session token expires %s, after its session (%s)", exp, admin.ExpiresAt)
		}
		if _, claims := jwtParts(t, st.SessionToken); numClaim(t, claims, "exp") > admin.ExpiresAt.Unix() {
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
		var l []tokenEntry
		r.JSON(t, &l)
		if r.Status != http.StatusOK || len(l) != 1 || l[0].TokenID != created.TokenID || l[0].CreatedBy != "admin@example.com" {
			t.Errorf("list with the session token: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodDelete, "/api/tokens/"+created.TokenID, nil, bearer); r.Status != http.StatusNoContent {
			t.Errorf("revoke with the session token: %d %s", r.Status, r.Body)
		}

		// A session token cannot be had by a person who is not an administrator, nor by a
		// service token.
		wantProblem(t, e.Do(http.MethodPost, "/api/auth/session-token", nil, e.As(viewer)), http.StatusForbidden)
		svc := e.CreateToken(admin, map[string]any{"subject": "svc"})
		wantProblem(t, e.Do(http.MethodPost, "/api/auth/session-token", nil, testenv.Bearer(svc.AccessToken)), http.StatusForbidden)
	})
}

// TestLogout checks that signing out ends the session and every session token taken from it.
func TestLogout(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
		r := e.Do(http.MethodPost, "/api/auth/session-token", nil, e.As(admin))
		var st struct {
			SessionToken string `json:"sessionToken"`
		}
		r.JSON(t, &st)

		// Without the CSRF token a cross-site form cannot sign the administrator out.
		r = e.Do(http.MethodPost, "/auth/logout", nil, testenv.Cookie(admin))
		wantProblem(t, r, http.StatusForbidden)
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
		wantProblem(t, r, http.StatusUnauthorized)
		r = e.Do(http.MethodGet, "/api/tokens", nil, testenv.Bearer(st.SessionToken))
		wantProblem(t, r, http.StatusUnauthorized)
		r = e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "after-logout"}, testenv.Bearer(st.SessionToken))
		wantProblem(t, r, http.StatusUnauthorized)
		r = e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": "after-logout"}, e.As(admin))
		wantProblem(t, r, http.StatusUnauthorized)

		other := e.SignIn("other@example.com", true)
		wantNoTokens(t, e, other)
	})
}

// TestSessionExpiry checks a session and its session tokens end after 8 hours.
func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)
		r := e.Do(http.MethodPost, "/api/auth/session-token", nil, e.As(admin))
		var st struct {
			SessionToken string `json:"sessionToken"`
		}
		r.JSON(t, &st)

		e.Clock.Advance(8*time.Hour - time.Second)
		if r := e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Cookie(admin)); r.Status != http.StatusOK {
			t.Errorf("one second before the end the cookie is refused: %d", r.Status)
		}
		if r := e.Do(http.MethodGet, "/api/tokens", nil, testenv.Bearer(st.SessionToken)); r.Status != http.StatusOK {
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
			{"session token list", http.MethodGet, "/api/tokens", testenv.Bearer(st.SessionToken)},
			{"session token create", http.MethodPost, "/api/tokens", testenv.Bearer(st.SessionToken)},
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
		wantNoTokens(t, e, fresh)
	})
}

// TestMe checks GET /api/auth/me.
func TestMe(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)

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
		wantExp := admin.ExpiresAt.UTC().Format(apiTimeFormat)
		if m.Email != "admin@example.com" || m.Name != "admin" || !m.IsAdmin || m.Expires != wantExp || m.CSRFToken == nil || *m.CSRFToken != admin.CSRF {
			t.Errorf("me via cookie = %s, want admin@example.com, admin, isAdmin, expires %s and the CSRF token", r.Body, wantExp)
		}

		r = e.Do(http.MethodPost, "/api/auth/session-token", nil, e.As(admin))
		var st struct {
			SessionToken string `json:"sessionToken"`
		}
		r.JSON(t, &st)
		r = e.Do(http.MethodGet, "/api/auth/me", nil, testenv.Bearer(st.SessionToken))
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
