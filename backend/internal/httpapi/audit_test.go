package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/oauth2-proxy/mockoidc"
)

// auditEventJSON is one entry of GET /api/audit-events.
type auditEventJSON struct {
	ID            int64          `json:"id"`
	Actor         string         `json:"actor"`
	Action        string         `json:"action"`
	Target        string         `json:"target"`
	Details       map[string]any `json:"details"`
	ActorID       string         `json:"actorId"`
	Credential    string         `json:"credential"`
	ClientAddress string         `json:"clientAddress"`
	RequestID     string         `json:"requestId"`
}

func auditEvents(t *testing.T, e *testenv.Env, viewer testenv.Session) []auditEventJSON {
	t.Helper()
	r := e.Do(http.MethodGet, "/api/audit-events?limit=500", nil, e.As(viewer))
	if r.Status != http.StatusOK {
		t.Fatalf("audit events: %d %s", r.Status, r.Body)
	}
	var page []auditEventJSON
	r.JSON(t, &page)
	return page
}

// send makes a request from the browser, with the CSRF token the portal holds.
func (b *browser) send(method, u, csrf string, body any) *http.Response {
	b.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("X-CSRF-Token", csrf)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, u, err)
	}
	return resp
}

// TestEveryAuditEventNamesCredentialAddressAndRequest follows one person through the portal
// (a browser that already holds a planted session of someone else): every event they cause
// names the credential that acted, the client's address and the request's id, and taking a
// session token is itself an event whose id the token's later actions are recorded under.
func TestEveryAuditEventNamesCredentialAddressAndRequest(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e, p := startWithIDP(t, db)
		planted := e.SignIn("mallory@example.com", true)
		b := newBrowser(t)
		u, _ := url.Parse(e.URL)
		b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "codemetrics_session", Value: planted.Cookie.Value, Path: "/"}})

		// A person who is not an administrator is refused: the event is the provider's answer's.
		p.QueueUser(&mockoidc.MockUser{Subject: "u2", Email: "bob@example.com", EmailVerified: true, Groups: []string{"staff"}})
		denied := b.get(b.atProvider(b.toProvider(e, "/")))
		p.QueueUser(admin())
		signedIn := b.get(b.atProvider(b.toProvider(e, "/")))
		_, me := b.me(e)
		csrf, _ := me["csrfToken"].(string)

		resp := b.send(http.MethodPost, e.URL+"/api/tokens", csrf, map[string]any{"subject": "ci"})
		var created testenv.CreatedToken
		_ = json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create: %d", resp.StatusCode)
		}
		createID := resp.Header.Get("X-Request-Id")

		resp = b.send(http.MethodPost, e.URL+"/api/auth/session-token", csrf, nil)
		var st struct{ SessionToken, Expires string }
		_ = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("session token: %d", resp.StatusCode)
		}
		issueID := resp.Header.Get("X-Request-Id")
		_, claims := jwtParts(t, st.SessionToken)
		jti, _ := claims["jti"].(string)

		revoke := e.Do(http.MethodDelete, "/api/tokens/"+created.TokenID, nil, testenv.Bearer(st.SessionToken))
		if revoke.Status != http.StatusNoContent {
			t.Fatalf("revoke with the session token: %d %s", revoke.Status, revoke.Body)
		}
		resp = b.send(http.MethodPost, e.URL+"/auth/logout", csrf, nil)
		resp.Body.Close()
		logoutID := resp.Header.Get("X-Request-Id")

		viewer := e.SignIn("auditor@example.com", true)
		byAction := map[string]auditEventJSON{}
		for _, ev := range auditEvents(t, e, viewer) {
			byAction[ev.Action] = ev
			if ev.ClientAddress != "127.0.0.1" {
				t.Errorf("%s: clientAddress %q, want 127.0.0.1", ev.Action, ev.ClientAddress)
			}
			if strings.Contains(ev.Credential, planted.Cookie.Value) || strings.Contains(ev.Credential, planted.ID[:8]) {
				t.Errorf("%s is recorded under the planted session: %q", ev.Action, ev.Credential)
			}
		}
		session := regexp.MustCompile(`^session:[A-Za-z0-9_-]{8}$`)
		for _, tc := range []struct {
			action, actor, requestID string
			credential               func(string) bool
		}{
			{"auth.sign_in_denied", "bob@example.com", denied.Header.Get("X-Request-Id"), func(c string) bool { return c == "oidc" }},
			{"auth.signed_in", "ada@example.com", signedIn.Header.Get("X-Request-Id"), session.MatchString},
			{"token.created", "ada@example.com", createID, func(c string) bool { return c == byAction["auth.signed_in"].Credential }},
			{"auth.session_token_issued", "ada@example.com", issueID, func(c string) bool { return c == byAction["auth.signed_in"].Credential }},
			{"token.revoked", "ada@example.com", revoke.Header.Get("X-Request-Id"), func(c string) bool { return c == "session-token:"+jti }},
			{"auth.signed_out", "ada@example.com", logoutID, func(c string) bool { return c == byAction["auth.signed_in"].Credential }},
		} {
			ev, ok := byAction[tc.action]
			switch {
			case !ok:
				t.Errorf("no %s event", tc.action)
			case ev.Actor != tc.actor || !tc.credential(ev.Credential):
				t.Errorf("%s: actor %q, credential %q", tc.action, ev.Actor, ev.Credential)
			case tc.requestID == "" || ev.RequestID != tc.requestID:
				t.Errorf("%s: requestId %q, want the response's X-Request-Id %q", tc.action, ev.RequestID, tc.requestID)
			}
		}

		// Minting the session token: its id and expiry, never its value.
		issued := byAction["auth.session_token_issued"]
		if issued.Target != "ada@example.com" || jti == "" || issued.Details["jti"] != jti || issued.Details["expires"] != st.Expires {
			t.Errorf("session token event = %+v, want target ada@example.com, jti %q, expires %q", issued, jti, st.Expires)
		}
		if r := e.Do(http.MethodGet, "/api/audit-events?limit=500", nil, e.As(viewer)); bytes.Contains(r.Body, []byte(st.SessionToken)) ||
			bytes.Contains(r.Body, []byte(strings.Split(st.SessionToken, ".")[2])) {
			t.Error("the audit log holds the session token's value")
		}
	})
}
