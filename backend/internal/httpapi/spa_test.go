package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/codemetrics/codemetrics/backend/internal/config"
	"github.com/codemetrics/codemetrics/backend/internal/server"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

const spaIndexMarker = "<div id=root>"

// TestHiddenFilesNotServed starts a server whose web files include dot files, as a build may,
// and checks none of them is served.
func TestHiddenFilesNotServed(t *testing.T) {
	t.Parallel()
	db := testenv.SQLite(t)
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"DATABASE_DRIVER": db.Driver, "DATABASE_DSN": db.DSN, "TOKEN_SIGNING_KEY": testenv.SigningKey}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "HIDDEN-FILE-CONTENT"
	srv, err := server.New(context.Background(), cfg, server.Options{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SPA: fstest.MapFS{
			"index.html":        {Data: []byte("<!doctype html><title>CodeMetrics</title>" + spaIndexMarker + "</div>")},
			".keep":             {Data: []byte(secret)},
			".env":              {Data: []byte("TOKEN_SIGNING_KEY=" + secret)},
			".git/config":       {Data: []byte(secret)},
			"assets/.gitignore": {Data: []byte(secret)},
			"assets/app.js":     {Data: []byte("console.log(1)")},
		},
		Version: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler)
	t.Cleanup(func() { hs.Close(); srv.Close() })

	for _, path := range []string{"/.keep", "/.env", "/.git/config", "/assets/.gitignore", "/assets/../.env", "/%2ekeep", "/assets/%2e%2e/.env", "/x/../.keep"} {
		resp, err := hs.Client().Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), secret) {
			t.Errorf("GET %s serves a hidden file: %d %s", path, resp.StatusCode, b)
		}
		if resp.StatusCode == http.StatusOK && !strings.Contains(string(b), spaIndexMarker) {
			t.Errorf("GET %s: 200 but not the index: %s", path, b)
		}
	}
	resp, err := hs.Client().Get(hs.URL + "/assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "console.log(1)" {
		t.Errorf("GET /assets/app.js: %d %s", resp.StatusCode, b)
	}
}
