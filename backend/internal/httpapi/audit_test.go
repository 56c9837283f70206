package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/testenv/jwttest"
	"github.com/oauth2-proxy/mockoidc"
)

// auditEventJSON is what these tests check of an entry of GET /api/audit-events (the OpenAPI
// validation of every response checks the whole entry).
type auditEventJSON struct {
	Time          string         `json:"time"`
	Actor         string         `json:"actor"`
	Action        string         `json:"action"`
	Target        string         `json:"target"`
	Details       map[string]any `json:"details"`
	Credential    string         `json:"credential"`
	ClientAddress string         `json:"clientAddress"`
	RequestID     string         `json:"requestId"`
}

// TestEveryAuditEventNamesCredentialAddressAndRequest follows one person through the portal
// (a browser that already holds a planted session of someone else): every event they cause
// names the credential that acted, the client's address and the request's id, and taking a
// session token is itself an event whose id the token's later actions are recorded under.
func TestEveryAuditEventNamesCredentialAddressAndRequest(t *testing.T) {
	testenv.ForEachIDP(t, func(t *testing.T, e *testenv.Env, p *testenv.IDP, b *testenv.Browser) {
		planted := e.SignIn("mallory@example.com", true)
		b.Plant(e.URL, "codemetrics_session", planted.Cookie.Value)

		// A person who is not an administrator is refused: the event is the provider's answer's.
		denied := b.SignIn(e, p, &mockoidc.MockUser{Subject: "u2", Email: "bob@example.com", EmailVerified: true, Groups: []string{"staff"}})
		signedIn := b.SignIn(e, p, testenv.AdminUser())
		_, me := b.Me(e)
		csrf, _ := me["csrfToken"].(string)

		resp := b.Send(http.MethodPost, e.URL+"/api/tokens", csrf, map[string]any{"subject": "ci"})
		var created testenv.CreatedToken
		_ = json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create: %d", resp.StatusCode)
		}
		createID := resp.Header.Get("X-Request-Id")

		resp = b.Send(http.MethodPost, e.URL+"/api/auth/session-token", csrf, nil)
		var st struct{ SessionToken, Expires string }
		_ = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("session token: %d", resp.StatusCode)
		}
		issueID := resp.Header.Get("X-Request-Id")
		_, claims := jwttest.Parts(t, st.SessionToken)
		jti, _ := claims["jti"].(string)

		revoke := e.Do(http.MethodDelete, "/api/tokens/"+created.TokenID, nil, testenv.Bearer(st.SessionToken))
		if revoke.Status != http.StatusNoContent {
			t.Fatalf("revoke with the session token: %d %s", revoke.Status, revoke.Body)
		}
		resp = b.Send(http.MethodPost, e.URL+"/auth/logout", csrf, nil)
		resp.Body.Close()
		logoutID := resp.Header.Get("X-Request-Id")

		viewer := e.SignIn("auditor@example.com", true)
		byAction := map[string]auditEventJSON{}
		var events []auditEventJSON
		e.GetJSON("/api/audit-events?limit=500", &events, e.As(viewer))
		for _, ev := range events {
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

func TestAuditEventsEndpoint(t *testing.T) {
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		var ids []string
		for i := range 3 {
			c := e.CreateToken(admin, map[string]any{"subject": "svc-" + strconv.Itoa(i)})
			ids = append(ids, c.TokenID)
		}
		if r := e.Do(http.MethodDelete, "/api/tokens/"+ids[0], nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d", r.Status)
		}

		r := e.Do(http.MethodGet, "/api/audit-events", nil, e.As(admin))
		var all []auditEventJSON
		r.JSON(t, &all)
		// Each token's subject became a service user: 3 × (service_user.created, token.created), the revocation.
		if r.Status != http.StatusOK || len(all) != 7 || all[0].Action != "token.revoked" || all[0].Target != ids[0] ||
			all[0].Actor != "admin@example.com" || all[0].Details["subject"] != "svc-0" || !testenv.APITime.MatchString(all[0].Time) {
			t.Fatalf("audit events: %d %s", r.Status, r.Body)
		}

		// Filter by action, newest first, two to a page.
		var got []string
		for _, p := range followPages(t, e, "/api/audit-events?action=token.created&limit=2", e.As(admin)) {
			for _, ev := range p {
				if ev["action"] != "token.created" {
					t.Fatalf("filter let %s through", ev["action"])
				}
				got = append(got, ev["target"].(string))
			}
		}
		if strings.Join(got, ",") != ids[2]+","+ids[1]+","+ids[0] {
			t.Errorf("created events newest first: %v, want %v reversed", got, ids)
		}

		// Administrators only.
		svc := e.CreateToken(admin, map[string]any{"subject": "reader"})
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/audit-events", nil, testenv.Bearer(svc.AccessToken)), http.StatusForbidden)
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/audit-events", nil, e.As(e.SignIn("viewer@example.com", false))), http.StatusForbidden)
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/audit-events", nil), http.StatusUnauthorized)
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/audit-events?limit=1001", nil, e.As(admin)), http.StatusBadRequest)
		testenv.WantProblem(t, e.Do(http.MethodGet, "/api/audit-events?cursor=-4", nil, e.As(admin)), http.StatusBadRequest)
	})
}
