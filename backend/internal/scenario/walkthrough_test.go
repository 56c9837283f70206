package attack

import (
	"net/http"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestSeedWalkthrough follows the API documentation: create a token, list it with the exact
// field names, call /api/system/config with it, revoke it, and see it refused.
func TestSeedWalkthrough(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		e := testenv.Start(t, db)
		admin := e.SignIn("admin@example.com", true)

		created := e.CreateToken(admin, map[string]any{"subject": "ci-pipeline"})
		if created.AccessToken == "" || created.TokenID == "" || created.Expires == "" {
			t.Fatalf("create returned %+v", created)
		}

		r := e.Do(http.MethodGet, "/api/tokens", nil, e.As(admin))
		if r.Status != http.StatusOK {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		var list []map[string]any
		r.JSON(t, &list)
		if len(list) != 1 {
			t.Fatalf("list has %d tokens, want 1: %s", len(list), r.Body)
		}
		for _, f := range []string{"tokenId", "created", "expires", "sub", "createdBy", "lastUsed", "scopes"} {
			if _, ok := list[0][f]; !ok {
				t.Errorf("list entry lacks %q: %s", f, r.Body)
			}
		}
		if list[0]["tokenId"] != created.TokenID || list[0]["sub"] != "ci-pipeline" || list[0]["createdBy"] != "admin@example.com" || list[0]["lastUsed"] != nil {
			t.Errorf("list entry = %v", list[0])
		}

		r = e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(created.AccessToken))
		if r.Status != http.StatusOK {
			t.Fatalf("system config with the token: %d %s", r.Status, r.Body)
		}

		r = e.Do(http.MethodDelete, "/api/tokens/"+created.TokenID, nil, e.As(admin))
		if r.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		r = e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(created.AccessToken))
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("revoked token: %d %s, want 401", r.Status, r.Body)
		}
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
	})
}
