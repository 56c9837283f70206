// Package apperr defines the error codes the domain returns and the HTTP layer translates once,
// and the reasons that say, machine-readably, which refusal an error is.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an error by what the caller can do about it.
type Code string

// The codes; internal/httpapi maps each to one HTTP status.
const (
	Invalid      Code = "invalid"
	Unauthorized Code = "unauthorized"
	Forbidden    Code = "forbidden"
	NotFound     Code = "not_found"
	Conflict     Code = "conflict"
	TooLarge     Code = "too_large"
	TooMany      Code = "too_many_requests"
	Unavailable  Code = "unavailable"
	Internal     Code = "internal"
	// NotAllowed and UnsupportedMedia are the HTTP layer's: a method or a content type the
	// route does not take.
	NotAllowed       Code = "method_not_allowed"
	UnsupportedMedia Code = "unsupported_media_type"
)

// Kind is what New and Wrap classify an error by: a Code (the error gets the code's default
// reason) or a Reason (the error gets the reason's code).
type Kind interface {
	codeAndReason() (Code, Reason)
}

func (c Code) codeAndReason() (Code, Reason) {
	if r, ok := defaultReason[c]; ok {
		return c, r
	}
	return c, ReasonInternal
}

func (r Reason) codeAndReason() (Code, Reason) {
	if c, ok := reasons[r]; ok {
		return c, r
	}
	return Internal, ReasonInternal // a reason missing from the table is a bug: never shown
}

// Error is an error with a code, a reason and a message that is safe to show to the client.
type Error struct {
	Code Code
	// Reason says which refusal this is, stably: clients, metrics and logs go by it, never by
	// the message.
	Reason  Reason
	Message string
	// Err is the underlying cause; it is logged, never shown to the client.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of the given code or reason with a client-safe message.
func New(kind Kind, format string, args ...any) *Error {
	code, reason := kind.codeAndReason()
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of the given code or reason and message that keeps err as its cause.
func Wrap(err error, kind Kind, format string, args ...any) *Error {
	e := New(kind, format, args...)
	e.Err = err
	return e
}

// CodeOf returns the code of err, Internal for an error without one, "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// ReasonOf returns the reason of err: "internal" for an internal error or one without a code
// (its reason, like its message, is not the client's), "" for nil.
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) || e.Code == Internal {
		return ReasonInternal
	}
	if e.Reason == "" { // built without New or Wrap
		_, r := e.Code.codeAndReason()
		return r
	}
	return e.Reason
}

// MessageOf returns the client-safe message of err; errors without a code are "internal error".
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.Message
	}
	return "internal error"
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool { return CodeOf(err) == code }
