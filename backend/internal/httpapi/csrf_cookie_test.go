package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestPlantedCSRFCookieIsHarmless: a sibling subdomain (evil.example.com beside
// codemetrics.example.com) can set a codemetrics_csrf cookie that the browser sends here and
// that script here can read. The CSRF token therefore lives nowhere a cookie can shadow it: the
// portal takes it from GET /api/auth/me and the server checks it against the session alone. A
// planted cookie neither breaks the administrator's actions nor authorises a forged one.
func TestPlantedCSRFCookieIsHarmless(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e, p := startWithIDP(t, db)
		b := newBrowser(t)
		p.QueueUser(admin())
		signIn := b.get(b.atProvider(b.toProvider(e, "/")))
		for _, c := range signIn.Cookies() {
			if (c.Name == "codemetrics_csrf" || c.Name == "__Host-codemetrics_csrf") && c.Value != "" {
				t.Errorf("the sign-in sets a CSRF cookie that a planted one could shadow: %+v", c)
			}
		}
		u, _ := url.Parse(e.URL)
		const planted = "planted-by-a-sibling-subdomain"
		b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "codemetrics_csrf", Value: planted, Path: "/"}})

		// The portal's source of the token is untouched by the cookie.
		csrf := b.csrf(e)
		if csrf == planted {
			t.Fatal("GET /api/auth/me hands out the planted value")
		}
		for _, tc := range []struct {
			name   string
			header string
			want   int
		}{
			{"legitimate action, planted cookie beside it", csrf, http.StatusCreated},
			{"forged action echoing the planted cookie", planted, http.StatusForbidden},
			{"forged action with no header", "", http.StatusForbidden},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp := b.send(http.MethodPost, e.URL+"/api/tokens", tc.header, map[string]any{"subject": "ci"})
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
				}
			})
		}
		resp := b.send(http.MethodPost, e.URL+"/auth/logout", csrf, nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("sign-out with a planted cookie beside the session: %d", resp.StatusCode)
		}
	})
}
