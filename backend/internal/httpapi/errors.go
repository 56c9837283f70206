package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/gin-gonic/gin"
)

// statusOf is the one map from error codes to HTTP statuses.
var statusOf = map[apperr.Code]int{
	apperr.Invalid:      http.StatusBadRequest,
	apperr.Unauthorized: http.StatusUnauthorized,
	apperr.Forbidden:    http.StatusForbidden,
	apperr.NotFound:     http.StatusNotFound,
	apperr.Conflict:     http.StatusConflict,
	apperr.TooLarge:     http.StatusRequestEntityTooLarge,
	apperr.TooMany:      http.StatusTooManyRequests,
	apperr.Unavailable:  http.StatusServiceUnavailable,
	apperr.Internal:     http.StatusInternalServerError,
}

// problem is an RFC 9457 problem details body.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// fail answers with err as problem+json and stops the handler chain. Only internal and
// unavailable errors are logged with their cause; the client sees the safe message.
func fail(c *gin.Context, err error) {
	code := apperr.CodeOf(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	switch status {
	case http.StatusUnauthorized:
		h := `Bearer realm="codemetrics"`
		if c.GetHeader("Authorization") != "" {
			h += `, error="invalid_token"`
		}
		c.Header("WWW-Authenticate", h)
		c.Set(ctxAuthFailure, apperr.MessageOf(err))
	case http.StatusServiceUnavailable:
		c.Header("Retry-After", "5")
	}
	if status >= 500 {
		logFrom(c).Error("request failed", "status", status, "err", err)
	}
	writeProblem(c, status, apperr.MessageOf(err))
}

// failWith answers with a problem of a status no apperr code stands for (404 of a route, 405, 415).
func failWith(c *gin.Context, status int, detail string) { writeProblem(c, status, detail) }

func writeProblem(c *gin.Context, status int, detail string) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(problem{
		Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: detail, RequestID: c.GetString(ctxRequestID),
	})
	c.Header("Cache-Control", "no-store")
	c.Data(status, "application/problem+json", body.Bytes())
	c.Abort()
}

// maxBodyBytes limits JSON request bodies: nothing CodeMetrics accepts is larger.
const maxBodyBytes = 64 << 10

// decodeJSON reads exactly one JSON object of type T from the body: unknown fields, trailing
// data, a wrong content type and bodies over maxBodyBytes are refused with a clear error.
func decodeJSON[T any](c *gin.Context, dst *T) bool {
	ct := c.GetHeader("Content-Type")
	if ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		failWith(c, http.StatusUnsupportedMediaType, "send the request body as application/json")
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes))
	if err == nil && !utf8.Valid(body) {
		// encoding/json would quietly turn invalid bytes into U+FFFD; refuse them instead.
		fail(c, apperr.New(apperr.Invalid, "the request body is not valid UTF-8"))
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err == nil {
		err = dec.Decode(dst)
	}
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data")
		}
	}
	if err == nil {
		// encoding/json takes "Subject" for "subject"; the API's names are exact.
		var v any
		_ = json.Unmarshal(body, &v)
		if key, want := misspelledKey(v, reflect.TypeFor[T]()); key != "" {
			fail(c, apperr.New(apperr.Invalid, "unknown field %q: field names are case-sensitive, send %q", key, want))
			return false
		}
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		var timeErr *time.ParseError
		switch {
		case errors.As(err, &timeErr):
			fail(c, apperr.New(apperr.Invalid, "times must be RFC 3339, such as 2024-01-15T10:30:00Z"))
		case errors.As(err, &tooBig):
			fail(c, apperr.New(apperr.TooLarge, "the request body is larger than %d bytes", maxBodyBytes))
		case errors.Is(err, io.EOF):
			fail(c, apperr.New(apperr.Invalid, "the request body is empty: send a JSON object"))
		case errors.As(err, &typeErr) && typeErr.Field == "":
			fail(c, apperr.New(apperr.Invalid, "the request body must be a JSON object"))
		case errors.As(err, &typeErr):
			fail(c, apperr.New(apperr.Invalid, "field %q has the wrong type: want %s", typeErr.Field, jsonKind(typeErr.Type)))
		case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
			fail(c, apperr.New(apperr.Invalid, "the request body is not valid JSON"))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			fail(c, apperr.New(apperr.Invalid, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field ")))
		default:
			fail(c, apperr.New(apperr.Invalid, "the request body must be a single JSON object"))
		}
		return false
	}
	return true
}

// misspelledKey returns the first key (in sorted order) of v, a JSON value decoded into the Go
// type t, that names a field only when case is ignored, with the field's name.
func misspelledKey(v any, t reflect.Type) (key, want string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, _ := v.(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			f, name := jsonField(t, k)
			if f == nil {
				return k, name
			}
			if key, want := misspelledKey(obj[k], f.Type); key != "" {
				return key, want
			}
		}
	case reflect.Slice, reflect.Array:
		arr, _ := v.([]any)
		for _, item := range arr {
			if key, want := misspelledKey(item, t.Elem()); key != "" {
				return key, want
			}
		}
	}
	return "", ""
}

// jsonField returns the field of struct t whose JSON name is key, or nil and the name that
// key matches ignoring case.
func jsonField(t reflect.Type, key string) (*reflect.StructField, string) {
	var folded string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return &f, name
		}
		if strings.EqualFold(name, key) {
			folded = name
		}
	}
	return nil, folded
}

func logFrom(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(ctxLogger); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	default:
		return "a number"
	}
}
