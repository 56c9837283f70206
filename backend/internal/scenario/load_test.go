package scenario

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestManyCreatorsRevokersAndVerifiers runs creators, revokers and verifiers at once for a
// bounded number of operations: every created token is listed with its audit event, every
// revoked one is refused, nothing answers 5xx (and -race watches the whole time).
func TestManyCreatorsRevokersAndVerifiers(t *testing.T) {
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		const creators, perCreator = 4, 15
		created := make(chan testenv.CreatedToken, creators*perCreator)
		toRevoke := make(chan testenv.CreatedToken, creators*perCreator)
		var mu sync.Mutex
		var all, revoked []testenv.CreatedToken
		var wg sync.WaitGroup
		fail5xx := func(what string, r *testenv.Response) {
			if r.Status >= 500 {
				t.Errorf("%s: %d %s", what, r.Status, r.Body)
			}
		}
		for c := range creators {
			wg.Go(func() {
				for i := range perCreator {
					r := e.Do(http.MethodPost, "/api/tokens", map[string]any{"subject": fmt.Sprintf("svc-%d-%d", c, i)}, e.As(admin))
					fail5xx("create", r)
					var tok testenv.CreatedToken
					r.JSON(t, &tok)
					mu.Lock()
					all = append(all, tok)
					mu.Unlock()
					created <- tok
					if i%3 == 0 {
						toRevoke <- tok
					}
				}
			})
		}
		var workers sync.WaitGroup
		for range 3 { // revokers
			workers.Go(func() {
				for tok := range toRevoke {
					r := e.Do(http.MethodDelete, "/api/tokens/"+tok.TokenID, nil, e.As(admin))
					fail5xx("revoke", r)
					if r.Status == http.StatusNoContent {
						mu.Lock()
						revoked = append(revoked, tok)
						mu.Unlock()
						// Refused on the very next request.
						if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)); r.Status != http.StatusUnauthorized {
							t.Errorf("revoked token answered %d", r.Status)
						}
					}
				}
			})
		}
		for range 3 { // verifiers
			workers.Go(func() {
				for tok := range created {
					for range 3 {
						r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken))
						fail5xx("verify", r)
						if r.Status != http.StatusOK && r.Status != http.StatusUnauthorized {
							t.Errorf("verify: %d", r.Status)
						}
					}
				}
			})
		}
		wg.Wait()
		close(created)
		close(toRevoke)
		workers.Wait()

		if len(revoked) != creators*((perCreator+2)/3) {
			t.Errorf("%d revocations succeeded, want %d", len(revoked), creators*((perCreator+2)/3))
		}
		isRevoked := map[string]bool{}
		for _, tok := range revoked {
			isRevoked[tok.TokenID] = true
			if r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)); r.Status != http.StatusUnauthorized {
				t.Errorf("revoked %s answers %d", tok.TokenID, r.Status)
			}
		}
		listed := e.ListTokens(admin)
		if len(listed) != len(all)-len(revoked) {
			t.Errorf("listed %d tokens, want %d", len(listed), len(all)-len(revoked))
		}
		for _, l := range listed {
			if isRevoked[l.TokenID] {
				t.Errorf("revoked token %s is listed", l.TokenID)
			}
		}
		if evs := e.AuditEvents("token.created"); len(evs) != len(all) {
			t.Errorf("%d token.created events, want %d", len(evs), len(all))
		}
		if evs := e.AuditEvents("token.revoked"); len(evs) != len(revoked) {
			t.Errorf("%d token.revoked events, want %d", len(evs), len(revoked))
		}
	})
}
