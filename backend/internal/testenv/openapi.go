package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/httpapi"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The OpenAPI document is the API's contract: every exchange of every test server's client is
// validated against it (kin-openapi's openapi3filter, which validates OpenAPI 3.1 schemas as
// JSON Schema 2020-12), and the response properties seen are counted, so that a field sent but
// not documented, or documented but never sent, fails a test.

// contract is the loaded document, its router, and what the tests have seen of it.
type contract struct {
	doc    *openapi3.T
	router routers.Router
	// documented holds every response property as "Schema.property" (a component's name, or
	// "operationId status" for an inline schema, then the path to the property).
	documented map[string]bool

	mu   sync.Mutex
	seen map[string]bool
}

var loadContract = sync.OnceValues(func() (*contract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load openapi.json: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route openapi.json: %w", err)
	}
	c := &contract{doc: doc, router: router, documented: map[string]bool{}, seen: map[string]bool{}}
	for _, path := range doc.Paths.InMatchingOrder() {
		for _, op := range doc.Paths.Value(path).Operations() {
			for status, r := range op.Responses.Map() {
				for _, mt := range r.Value.Content {
					c.walk(rootKey(op, status, mt.Schema), mt.Schema, nil, func(key string) { c.documented[key] = true }, map[string]bool{})
				}
			}
		}
	}
	return c, nil
})

// rootKey names a response body's schema: its component, or its operation and status.
func rootKey(op *openapi3.Operation, status string, s *openapi3.SchemaRef) string {
	if s != nil && s.Ref != "" {
		return refName(s.Ref)
	}
	return op.OperationID + " " + status
}

func refName(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }

// walk calls mark for every property of s (and of the schemas within it), as "key.property".
// With a value v it visits only the properties present in v; without one (documenting) it
// visits them all, each component once.
func (c *contract) walk(key string, s *openapi3.SchemaRef, v any, mark func(string), done map[string]bool) {
	if s == nil || s.Value == nil {
		return
	}
	if s.Ref != "" {
		key = refName(s.Ref)
		if done != nil {
			if done[key] {
				return
			}
			done[key] = true
		}
	}
	sc := s.Value
	for _, alt := range slices.Concat(sc.OneOf, sc.AnyOf, sc.AllOf) {
		c.walk(key, alt, v, mark, done)
	}
	if sc.Items != nil {
		if done != nil {
			c.walk(key+"[]", sc.Items, nil, mark, done)
		} else if arr, ok := v.([]any); ok {
			for _, item := range arr {
				c.walk(key+"[]", sc.Items, item, mark, nil)
			}
		}
	}
	obj, isObj := v.(map[string]any)
	for name, p := range sc.Properties {
		k := key + "." + name
		if done != nil {
			mark(k)
			c.walk(k, p, nil, mark, done)
		} else if pv, ok := obj[name]; isObj && ok {
			mark(k)
			c.walk(k, p, pv, mark, nil)
		}
	}
}

// UnseenProperties lists the documented response properties that no validated response of
// this test process has sent, sorted; empty when every one was seen.
func UnseenProperties() ([]string, error) {
	c, err := loadContract()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.documented {
		if !c.seen[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

func init() {
	// The sign-in pages are HTML; their bodies are not described, only their status.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}

// validating is an http.RoundTripper that checks each exchange with a documented operation
// against the OpenAPI document, reporting a mismatch as an error of its test.
type validating struct {
	t    testing.TB
	base http.RoundTripper
}

// Validating wraps base (http.DefaultTransport when nil) so that every exchange sent through
// it is validated against the OpenAPI document: each answer (its status must be documented
// for the operation, its content type and body must match), and each request that was not
// refused (below 400: a refused request may be malformed on purpose). Paths and methods the
// document does not describe (the portal's pages, its assets) pass unchecked. Every test
// server's own client uses it; a test that builds its own client should too.
func Validating(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &validating{t: t, base: base}
}

// CloseIdleConnections lets httptest.Server.Close close the wrapped transport's connections.
func (v *validating) CloseIdleConnections() {
	if ci, ok := v.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// RoundTrip sends req through the wrapped transport and validates the exchange.
func (v *validating) RoundTrip(req *http.Request) (*http.Response, error) {
	c, err := loadContract()
	if err != nil {
		v.t.Errorf("openapi: %v", err)
		return v.base.RoundTrip(req)
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil { // not a documented path and method
		return v.base.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		reqBody, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := v.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if resp.Header.Get("X-Request-Id") == "" && resp.StatusCode >= 400 {
		// net/http's own refusal (431 for oversized headers), written before any handler ran:
		// not an answer of the API.
		return resp, nil
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{rerr}))
	if rerr != nil { // a cut answer: the test sees the error itself
		return resp, nil
	}
	t := v.t
	if rt, ok := req.Context().Value(reportKey{}).(testing.TB); ok {
		t = rt
	}
	c.check(t, req, reqBody, route, params, resp, body)
	return resp, nil
}

type reportKey struct{}

type lenientKey struct{}

// WithoutRequestCheck returns req made to skip the check of its own body against the OpenAPI
// document, the answer being checked as ever: for a request that breaks the document on purpose
// and is still answered 2xx, such as a batch whose bad runs are answered one by one in its 200.
func WithoutRequestCheck(req *http.Request) *http.Request {
	return req.WithContext(context.WithValue(req.Context(), lenientKey{}, true))
}

// ReportTo returns req made to report its exchange's mismatches with the OpenAPI document to
// t instead of to the test that started the server: a fuzz target's t, as the *testing.F that
// started the server may not fail inside the target.
func ReportTo(t testing.TB, req *http.Request) *http.Request {
	return req.WithContext(context.WithValue(req.Context(), reportKey{}, t))
}

// errReader returns err (io.EOF when nil) at the end of a replayed body.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err == nil {
		return 0, io.EOF
	}
	return 0, e.err
}

// check validates one exchange and counts the response properties it sent.
func (c *contract) check(t testing.TB, req *http.Request, reqBody []byte, route *routers.Route, params map[string]string, resp *http.Response, body []byte) {
	t.Helper()
	opts := &openapi3filter.Options{
		// Authentication is the server's business, tested on its own; the contract is the shape.
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	// Short messages: where and why, without the schema and the value (which may hold a token).
	opts.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string {
		if p := err.JSONPointer(); len(p) > 0 && !strings.Contains(err.Reason, "at '") {
			return "at /" + strings.Join(p, "/") + ": " + err.Reason
		}
		return err.Reason
	})
	name := fmt.Sprintf("%s %s (%s) answered %d", req.Method, route.Path, route.Operation.OperationID, resp.StatusCode)
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if resp.StatusCode < 400 && req.Context().Value(lenientKey{}) == nil {
		vr := req.Clone(req.Context())
		vr.Body = io.NopCloser(bytes.NewReader(reqBody))
		in.Request = vr
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("openapi: %s, but its request does not match openapi.json: %s", name, message(err))
		}
		in.Request = req
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("openapi: %s, which does not match openapi.json: %s", name, message(err))
		return
	}
	c.observe(route.Operation, resp, body)
}

// message is a validation error on one line, without the JSON Schema validator's preamble.
func message(err error) string {
	m := strings.ReplaceAll(err.Error(), "jsonschema validation failed with 'https://example.com/schema.json#'", "")
	return strings.Join(strings.Fields(strings.ReplaceAll(m, "\n", " ")), " ")
}

// observe counts the documented properties a valid response body sent.
func (c *contract) observe(op *openapi3.Operation, resp *http.Response, body []byte) {
	r := op.Responses.Status(resp.StatusCode)
	if r == nil || r.Value == nil {
		return
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	mt := r.Value.Content.Get(ct)
	if mt == nil || mt.Schema == nil {
		return
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.walk(rootKey(op, fmt.Sprint(resp.StatusCode), mt.Schema), mt.Schema, v, func(key string) { c.seen[key] = true }, nil)
}

// Lenient is WithoutRequestCheck as an option of Do.
func Lenient(r *http.Request) { *r = *WithoutRequestCheck(r) }
