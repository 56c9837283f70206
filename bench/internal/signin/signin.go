// Package signin signs a benchmark's administrator in the way a person does: through an OpenID
// Provider (oauth2-proxy/mockoidc, in this process) and CodeMetrics' own /auth/login and
// /auth/callback, then takes a bearer session token with POST /api/auth/session-token.
package signin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/oauth2-proxy/mockoidc"
)

// AdminGroup is the group that makes the benchmark's user an administrator (ADMIN_GROUPS).
const AdminGroup = "codemetrics-bench-admins"

// Provider is the OpenID Provider the servers under test trust.
type Provider struct{ m *mockoidc.MockOIDC }

// StartProvider starts the provider on a loopback port.
func StartProvider() (*Provider, error) {
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if err := m.Start(ln, nil); err != nil {
		return nil, err
	}
	return &Provider{m: m}, nil
}

// Close stops the provider.
func (p *Provider) Close() { _ = p.m.Shutdown() }

// Env is the sign-in configuration of a CodeMetrics server that trusts this provider.
func (p *Provider) Env() []string {
	return []string{
		"OIDC_ISSUER_URL=" + p.m.Issuer(),
		"OIDC_CLIENT_ID=" + p.m.ClientID,
		"OIDC_CLIENT_SECRET=" + p.m.ClientSecret,
		"ADMIN_GROUPS=" + AdminGroup,
	}
}

// Admin is a signed-in administrator.
type Admin struct {
	// SessionCookie is the session cookie's name and value, as a browser holds them.
	SessionCookie http.Cookie
	// Bearer is a session token for Authorization: Bearer.
	Bearer string
}

// SignIn signs the benchmark's administrator in to the server at base.
func (p *Provider) SignIn(ctx context.Context, base string) (Admin, error) {
	p.m.QueueUser(&mockoidc.MockUser{
		Subject: "bench", Email: "bench@example.com", EmailVerified: true, PreferredUsername: "bench",
		Groups: []string{AdminGroup},
	})
	jar, err := cookiejar.New(nil)
	if err != nil {
		return Admin{}, err
	}
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	// The whole sign-in: /auth/login → the provider → /auth/callback → the portal.
	if err := call(ctx, c, http.MethodGet, base+"/auth/login", nil, nil); err != nil {
		return Admin{}, fmt.Errorf("sign-in: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return Admin{}, err
	}
	var a Admin
	for _, ck := range jar.Cookies(u) {
		if strings.HasSuffix(ck.Name, "codemetrics_session") {
			a.SessionCookie = *ck
		}
	}
	if a.SessionCookie.Value == "" {
		return Admin{}, errors.New("sign-in: no session cookie after the callback")
	}
	var me struct {
		IsAdmin   bool   `json:"isAdmin"`
		CSRFToken string `json:"csrfToken"`
	}
	if err := call(ctx, c, http.MethodGet, base+"/api/auth/me", nil, &me); err != nil {
		return Admin{}, err
	}
	if !me.IsAdmin {
		return Admin{}, errors.New("sign-in: signed in, but not as an administrator (ADMIN_GROUPS)")
	}
	var tok struct {
		SessionToken string `json:"sessionToken"`
	}
	h := http.Header{"X-Csrf-Token": {me.CSRFToken}}
	if err := call(ctx, c, http.MethodPost, base+"/api/auth/session-token", h, &tok); err != nil {
		return Admin{}, err
	}
	a.Bearer = tok.SessionToken
	return a, nil
}

// call sends a request and decodes its 2xx answer into into (unless nil).
func call(ctx context.Context, c *http.Client, method, u string, h http.Header, into any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return err
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("%s %s: %s: %.300s", method, resp.Request.URL.Path, resp.Status, body)
	case into != nil:
		if err := json.Unmarshal(body, into); err != nil {
			return fmt.Errorf("%s %s: %w", method, u, err)
		}
	}
	return nil
}
