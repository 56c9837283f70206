package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/testenv/jwttest"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

// TestSigningKeyRotation follows the README's procedure: the new key signs, the old one still
// verifies until it is dropped, and then its tokens are refused.
func TestSigningKeyRotation(t *testing.T) {
	db := testenv.SQLite(t)
	const oldKey, newKey = testenv.SigningKey, "rotated-signing-key-0123456789-abcdefghijklmn"
	clock := testenv.NewClock()

	before := testenv.Start(t, db, testenv.Settings{Clock: clock})
	admin := before.SignIn("admin@example.com", true)
	old := before.CreateToken(admin, map[string]any{"subject": "made-before-rotation"})

	// Step 1: the new key signs; the old one is listed as previous.
	during := testenv.Start(t, db, testenv.Settings{Clock: clock, Env: map[string]string{
		"TOKEN_SIGNING_KEY": newKey, "TOKEN_SIGNING_KEYS_PREVIOUS": oldKey,
	}})
	if r := during.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(old.AccessToken)); r.Status != http.StatusOK {
		t.Fatalf("token signed with the previous key: %d %s", r.Status, r.Body)
	}
	admin2 := during.SignIn("admin@example.com", true)
	fresh := during.CreateToken(admin2, map[string]any{"subject": "made-after-rotation"})
	header, _ := jwttest.Parts(t, fresh.AccessToken)
	if header["kid"] != token.KeyID([]byte(newKey)) || header["kid"] == token.KeyID([]byte(oldKey)) {
		t.Errorf("new tokens carry kid %v, want the new key's", header["kid"])
	}

	// Step 2, once old tokens are replaced: the previous key is dropped and its tokens stop working.
	after := testenv.Start(t, db, testenv.Settings{Clock: clock, Env: map[string]string{"TOKEN_SIGNING_KEY": newKey}})
	r := after.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(old.AccessToken))
	testenv.WantProblem(t, r, http.StatusUnauthorized)
	if r := after.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(fresh.AccessToken)); r.Status != http.StatusOK {
		t.Fatalf("token signed with the new key: %d", r.Status)
	}
	if strings.Contains(after.Logs.String(), newKey) || strings.Contains(during.Logs.String(), oldKey) {
		t.Error("a signing key appears in the logs")
	}
}
