package httpapi_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/httpapi"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/gin-gonic/gin"
)

// TestOpenAPIMatchesTheRouter fails when a route exists without its description, or the
// description names an operation the router does not serve.
func TestOpenAPIMatchesTheRouter(t *testing.T) {
	e := testenv.Start(t, testenv.SQLite(t))
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(httpapi.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	param := regexp.MustCompile(`:([A-Za-z]+)`)
	served := map[string]bool{}
	for _, r := range e.Server.Handler.(*gin.Engine).Routes() {
		served[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("served but not in openapi.json: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("in openapi.json but not served: %v", extra)
	}

	if _, err := testenv.UnseenProperties(); err != nil { // loads and validates the document
		t.Error(err)
	}

	r := e.Do(http.MethodGet, "/api/openapi.json", nil)
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || !json.Valid(r.Body) {
		t.Fatalf("GET /api/openapi.json: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
}

// TestOpenAPIObjectsAreClosed fails for an object schema with properties but no
// additionalProperties: the exchange validation then lets a field the document does not
// describe through. A free-form object (no properties) stays open.
func TestOpenAPIObjectsAreClosed(t *testing.T) {
	var doc any
	if err := json.Unmarshal(httpapi.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var open []string
	var walk func(pointer string, v any)
	walk = func(pointer string, v any) {
		switch v := v.(type) {
		case map[string]any:
			_, props := v["properties"]
			_, closed := v["additionalProperties"]
			if v["type"] == "object" && props && !closed {
				open = append(open, pointer)
			}
			for k, child := range v {
				walk(pointer+"/"+strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"), child)
			}
		case []any:
			for i, child := range v {
				walk(pointer+"/"+strconv.Itoa(i), child)
			}
		}
	}
	walk("#", doc)
	sort.Strings(open)
	for _, p := range open {
		t.Errorf("%s describes an object without \"additionalProperties\": add \"additionalProperties\": false", p)
	}
}

// neverSent lists documented response properties that no test can make the server send, each
// with the reason. Keep it empty: a property here is one the tests do not guard.
var neverSent = map[string]string{}

// TestMain runs the package's tests, whose every exchange testenv validates against
// openapi.json, and then fails if a documented response property was never sent: a field
// documented but dropped from its handler, or one no test looks at. The check needs the whole
// package to have run, so it is skipped under -run or -skip (a filtered run sees only part of
// the API), and when a test already failed.
func TestMain(m *testing.M) {
	code := m.Run()
	if code != 0 || flag.Lookup("test.run").Value.String() != "" || flag.Lookup("test.skip").Value.String() != "" {
		os.Exit(code)
	}
	unseen, err := testenv.UnseenProperties()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var missing []string
	for _, p := range unseen {
		if neverSent[p] == "" {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: openapi.json documents response properties that no test's response sent (drop them from the document, send them, or test the answer that sends them):")
		for _, p := range missing {
			fmt.Fprintln(os.Stderr, "\t"+p)
		}
		os.Exit(1)
	}
	os.Exit(code)
}
