package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

const spaIndexMarker = "<div id=root>"

// TestHiddenFilesNotServed starts a server whose web files include dot files, as a build may,
// and checks none of them is served.
func TestHiddenFilesNotServed(t *testing.T) {
	t.Parallel()
	const secret = "HIDDEN-FILE-CONTENT"
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{SPA: fstest.MapFS{
		"index.html":        {Data: []byte("<!doctype html><title>CodeMetrics</title>" + spaIndexMarker + "</div>")},
		".keep":             {Data: []byte(secret)},
		".env":              {Data: []byte("TOKEN_SIGNING_KEY=" + secret)},
		".git/config":       {Data: []byte(secret)},
		"assets/.gitignore": {Data: []byte(secret)},
		"assets/app.js":     {Data: []byte("console.log(1)")},
	}})
	for _, path := range []string{"/.keep", "/.env", "/.git/config", "/assets/.gitignore", "/assets/../.env", "/%2ekeep", "/assets/%2e%2e/.env", "/x/../.keep"} {
		r := e.Do(http.MethodGet, path, nil)
		if strings.Contains(string(r.Body), secret) {
			t.Errorf("GET %s serves a hidden file: %d %s", path, r.Status, r.Body)
		}
		if r.Status == http.StatusOK && !strings.Contains(string(r.Body), spaIndexMarker) {
			t.Errorf("GET %s: 200 but not the index: %s", path, r.Body)
		}
	}
	if r := e.Do(http.MethodGet, "/assets/app.js", nil); r.Status != http.StatusOK || string(r.Body) != "console.log(1)" {
		t.Errorf("GET /assets/app.js: %d %s", r.Status, r.Body)
	}
}
