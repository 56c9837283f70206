package apperr

import (
	"errors"
	"fmt"
	"testing"
)

func TestReasonsAndCodes(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		code       Code
		reason     Reason
		clientText string
	}{
		{"a code gets its generic reason", New(NotFound, "no %s", "thing"), NotFound, "not_found", "no thing"},
		{"a reason gets its code", New(TokenExpired, "the token has expired"), Unauthorized, TokenExpired, "the token has expired"},
		{"wrapped, the reason survives", fmt.Errorf("context: %w", Wrap(errors.New("cause"), DatabaseUnavailable, "down")), Unavailable, DatabaseUnavailable, "down"},
		{"an error without a code is internal", errors.New("boom"), Internal, ReasonInternal, "internal error"},
		{"an internal error says nothing more", Wrap(errors.New("boom"), Internal, "sign token"), Internal, ReasonInternal, "internal error"},
		{"built without New", &Error{Code: Conflict, Message: "taken"}, Conflict, "conflict", "taken"},
		{"a reason missing from the table is internal", New(Reason("no_such_reason"), "x"), Internal, ReasonInternal, "internal error"},
	}
	for _, tc := range cases {
		if got := CodeOf(tc.err); got != tc.code {
			t.Errorf("%s: code %q, want %q", tc.name, got, tc.code)
		}
		if got := ReasonOf(tc.err); got != tc.reason {
			t.Errorf("%s: reason %q, want %q", tc.name, got, tc.reason)
		}
		if got := MessageOf(tc.err); got != tc.clientText {
			t.Errorf("%s: message %q, want %q", tc.name, got, tc.clientText)
		}
	}
	if CodeOf(nil) != "" || ReasonOf(nil) != "" {
		t.Error("nil has a code or a reason")
	}
}

// TestEveryCodeHasItsGenericReason keeps the table whole: each code's generic reason is in it,
// and no reason other than the generic one belongs to Internal (its reason would say more than
// "internal error" does).
func TestEveryCodeHasItsGenericReason(t *testing.T) {
	for _, c := range Codes() {
		if Reason(c).Code() != c {
			t.Errorf("code %q has no generic reason", c)
		}
	}
	for _, r := range Reasons() {
		if r.Code() == Internal && r != ReasonInternal {
			t.Errorf("reason %q belongs to Internal", r)
		}
	}
}
