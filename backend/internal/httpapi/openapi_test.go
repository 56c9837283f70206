package httpapi_test

import (
	"encoding/json"
	"net/http"
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
