package httpapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/gin-gonic/gin"
)

// statusOf is the one map from error codes to HTTP statuses, for the API's problem+json
// bodies and the sign-in pages alike.
var statusOf = map[apperr.Code]int{
	apperr.Invalid:          http.StatusBadRequest,
	apperr.Unauthorized:     http.StatusUnauthorized,
	apperr.Forbidden:        http.StatusForbidden,
	apperr.NotFound:         http.StatusNotFound,
	apperr.NotAllowed:       http.StatusMethodNotAllowed,
	apperr.Conflict:         http.StatusConflict,
	apperr.TooLarge:         http.StatusRequestEntityTooLarge,
	apperr.UnsupportedMedia: http.StatusUnsupportedMediaType,
	apperr.TooMany:          http.StatusTooManyRequests,
	apperr.Unavailable:      http.StatusServiceUnavailable,
	apperr.Internal:         http.StatusInternalServerError,
}

// statusFor is the HTTP status of err.
func statusFor(err error) int {
	if status, ok := statusOf[apperr.CodeOf(err)]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// problem is an RFC 9457 problem details body. Code is the error's reason: the stable,
// machine-readable name of the refusal that clients go by (Detail is for people).
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Detail    string `json:"detail,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// fail answers with err as problem+json and stops the handler chain. Only internal and
// unavailable errors are logged with their cause; the client sees the safe message.
func fail(c *gin.Context, err error) {
	status := statusFor(err)
	reason := refused(c, err)
	switch status {
	case http.StatusUnauthorized:
		h := `Bearer realm="codemetrics"`
		if c.GetHeader("Authorization") != "" {
			h += `, error="invalid_token"`
		}
		c.Header("WWW-Authenticate", h)
		c.Set(ctxAuthFailure, reason)
	case http.StatusServiceUnavailable:
		c.Header("Retry-After", "5")
	}
	if status >= 500 {
		logFrom(c).Error("request failed", "status", status, "reason", reason, "err", err)
	}
	writeProblem(c, status, reason, apperr.MessageOf(err))
}

// refused notes err's reason for the request's log line and returns it.
func refused(c *gin.Context, err error) string {
	reason := string(apperr.ReasonOf(err))
	c.Set(ctxReason, reason)
	return reason
}

func writeProblem(c *gin.Context, status int, reason, detail string) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(problem{
		Type: "about:blank", Title: http.StatusText(status), Status: status, Code: reason,
		Detail: detail, RequestID: c.GetString(ctxRequestID),
	})
	c.Header("Cache-Control", "no-store")
	c.Data(status, "application/problem+json", body.Bytes())
	c.Abort()
}

// maxBodyBytes limits JSON request bodies: nothing CodeMetrics accepts is larger.
const maxBodyBytes = 64 << 10

// decodeJSON reads exactly one JSON object of type T from the body: unknown fields, duplicate
// keys, keys that match a field only when case is ignored, trailing data, a wrong content type
// and bodies over maxBodyBytes are refused with a clear error.
func decodeJSON[T any](c *gin.Context, dst *T) bool { return decodeJSONUpTo(c, dst, maxBodyBytes) }

// decodeJSONUpTo is decodeJSON for a body of up to limit bytes.
func decodeJSONUpTo[T any](c *gin.Context, dst *T, limit int64) bool {
	ct := c.GetHeader("Content-Type")
	if ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		fail(c, apperr.New(apperr.UnsupportedMedia, "send the request body as application/json"))
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		err = apperr.New(apperr.TooLarge, "the request body is larger than %d bytes", limit)
	case err != nil:
		err = apperr.New(apperr.InvalidJSON, "the request body must be a single JSON object")
	default:
		err = parseJSON(body, dst)
	}
	if err != nil {
		fail(c, err)
		return false
	}
	return true
}

// parseJSON decodes exactly one JSON value of type T from body with decodeJSON's rules (valid
// UTF-8, each key once and spelled as documented, no unknown field, the right types, nothing
// after it), returning an apperr error that says what is wrong.
func parseJSON[T any](body []byte, dst *T) error {
	if !utf8.Valid(body) {
		// encoding/json would quietly turn invalid bytes into U+FFFD; refuse them instead.
		return apperr.New(apperr.InvalidJSON, "the request body is not valid UTF-8")
	}
	// encoding/json matches keys ignoring case and lets the last duplicate win, so a body
	// could say one thing to a reviewer or a proxy and another to the handler.
	keys := json.NewDecoder(bytes.NewReader(body))
	keys.UseNumber() // 1e400 is the decoder's to refuse, not a reason to stop looking
	if kerr := checkKeys(keys, reflect.TypeFor[T](), ""); kerr != nil && kerr != errMalformed {
		return kerr
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data")
		}
	}
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var timeErr *time.ParseError
	switch {
	case errors.As(err, &timeErr):
		return apperr.New(apperr.WrongType, "times must be RFC 3339, such as 2024-01-15T10:30:00Z")
	case errors.Is(err, io.EOF):
		return apperr.New(apperr.InvalidJSON, "the request body is empty: send a JSON object")
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return apperr.New(apperr.InvalidJSON, "the request body must be a JSON object")
	case errors.As(err, &typeErr):
		return apperr.New(apperr.WrongType, "field %q has the wrong type: want %s", typeErr.Field, jsonKind(typeErr.Type))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.New(apperr.InvalidJSON, "the request body is not valid JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return apperr.New(apperr.UnknownField, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return apperr.New(apperr.InvalidJSON, "the request body must be a single JSON object")
	}
}

// checkKeys walks the next JSON value of dec alongside the Go type t it will be decoded into
// and refuses, at any depth, an object that has a key twice (exactly, or once more in other
// case) and a key that names a field of t in the wrong case. Malformed JSON ends the walk with
// errMalformed: the decoder proper then says what is wrong with it.
func checkKeys(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == deferredType { // checked on its own, later
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return errMalformed
		}
		return nil
	}
	if t != nil && (reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler)) {
		t = nil // decoded by its own method: only duplicates are looked for
	}
	tok, err := dec.Token()
	if err != nil {
		return errMalformed
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		}
		seen := map[string]string{} // folded key -> key as sent
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return errMalformed
			}
			key, _ := kt.(string)
			name := path + key
			if prev, ok := seen[foldKey(key)]; ok {
				if prev == key {
					return apperr.New(apperr.AmbiguousJSONKey, "key %q appears twice: send each field once", name)
				}
				return apperr.New(apperr.AmbiguousJSONKey, "keys %q and %q differ only in case: send each field once, spelled as documented", path+prev, name)
			}
			seen[foldKey(key)] = key
			var child reflect.Type
			switch {
			case fields != nil:
				ft, ok := fields[key]
				if !ok {
					for f := range fields {
						if strings.EqualFold(f, key) {
							return apperr.New(apperr.AmbiguousJSONKey, "key %q must be spelled %q: field names are case-sensitive", name, path+f)
						}
					}
				}
				child = ft // an unknown key is the decoder's to refuse
			case t != nil && t.Kind() == reflect.Map:
				child = t.Elem()
			}
			if err := checkKeys(dec, child, name+"."); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // '}'
			return errMalformed
		}
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := checkKeys(dec, elem, strings.TrimSuffix(path, ".")+"["+strconv.Itoa(i)+"]."); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return errMalformed
		}
	}
	return nil
}

// deferredJSON is a JSON value kept as it was sent, to be checked and decoded on its own later
// (parseJSON): each run of a batch, so that what is wrong with one run is that run's fault, not
// the whole body's.
type deferredJSON []byte

// UnmarshalJSON keeps the value's bytes.
func (d *deferredJSON) UnmarshalJSON(b []byte) error {
	*d = append((*d)[:0], b...)
	return nil
}

var deferredType = reflect.TypeFor[deferredJSON]()

// errMalformed stops checkKeys at JSON it cannot walk.
var errMalformed = errors.New("malformed JSON")

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// jsonFields maps the JSON names of t's fields to their types, as encoding/json names them
// (the tag's name, else the Go name; embedded structs' fields promoted).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// foldKey folds s so that foldKey(a) == foldKey(b) exactly when strings.EqualFold(a, b), the
// matching encoding/json uses (so "ſubject" and "SUBJECT" both fold to "subject"'s key).
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// logFrom is the logger of the request: the API's, with the request's id.
func logFrom(c *gin.Context) *slog.Logger {
	l := slog.Default()
	if v, ok := c.Get(ctxLogger); ok {
		l = v.(*slog.Logger)
	}
	if id := c.GetString(ctxRequestID); id != "" {
		return l.With("request_id", id)
	}
	return l
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
