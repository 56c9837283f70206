package attack

import (
	"net/http"
	"strings"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestServerLimits checks what stops slow and oversized clients: every timeout set, headers
// capped, and a 1 MB Authorization header refused without reaching a handler.
func TestServerLimits(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t))
	hs := e.Server.HTTPServer()
	if hs.ReadHeaderTimeout == 0 || hs.ReadTimeout == 0 || hs.WriteTimeout == 0 || hs.IdleTimeout == 0 || hs.MaxHeaderBytes == 0 || hs.MaxHeaderBytes > 1<<20 {
		t.Fatalf("server limits not all set: %+v", hs)
	}
	r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(strings.Repeat("A", 1<<20)))
	if r.Status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("1 MB Authorization header: %d, want 431", r.Status)
	}
	if strings.Contains(e.Logs.String(), strings.Repeat("A", 1000)) {
		t.Error("the oversized header reached the logs")
	}
}
