package apperr

import (
	"maps"
	"slices"
)

// Reason names one refusal in snake_case. Reasons are part of the API: the problem+json body's
// "code", the auth-failure metric's label and the log lines carry them, so a reason, once
// given out, keeps its name and its meaning.
type Reason string

// ReasonInternal is the reason of every internal error; like its message, it says nothing more.
const ReasonInternal = Reason(Internal)

// The specific reasons, by code. Each code also has a generic reason spelled like the code
// ("invalid", "not_found", …) for errors that need no more specific one.
const (
	// Unauthorized: no usable credential.
	CredentialsMissing  Reason = "credentials_missing"
	AuthHeaderMalformed Reason = "auth_header_malformed"
	AuthHeaderRepeated  Reason = "auth_header_repeated"
	TokenMalformed      Reason = "token_malformed"
	TokenBadSignature   Reason = "token_bad_signature"
	TokenInvalid        Reason = "token_invalid"
	TokenExpired        Reason = "token_expired"
	TokenNotYetValid    Reason = "token_not_yet_valid"
	TokenWrongIssuer    Reason = "token_wrong_issuer"
	TokenWrongAudience  Reason = "token_wrong_audience"
	TokenRevoked        Reason = "token_revoked"
	TokenUnknown        Reason = "token_unknown"
	SessionEnded        Reason = "session_ended"

	// Forbidden: a valid credential without the right.
	AdminRequired        Reason = "admin_required"
	NotAdmin             Reason = "not_admin"
	SessionRequired      Reason = "session_required"
	ServiceTokenRequired Reason = "service_token_required"
	ScopeMissing         Reason = "scope_missing"
	CSRFInvalid          Reason = "csrf_invalid"
	CrossOrigin          Reason = "cross_origin"
	IdPClaimMissing      Reason = "idp_claim_missing"
	IdPClaimInvalid      Reason = "idp_claim_invalid"

	// Invalid: a request that cannot be taken as sent.
	InvalidJSON      Reason = "invalid_json"
	UnknownField     Reason = "unknown_field"
	WrongType        Reason = "wrong_type"
	AmbiguousJSONKey Reason = "ambiguous_json_key"
	InvalidField     Reason = "invalid_field"
	InvalidParameter Reason = "invalid_parameter"
	InvalidCursor    Reason = "invalid_cursor"
	UnknownWorkload  Reason = "unknown_workload"
	SignInExpired    Reason = "sign_in_expired"
	SignInReplayed   Reason = "sign_in_replayed"
	SignInIncomplete Reason = "sign_in_incomplete"
	SignInRefused    Reason = "sign_in_refused"
	IDTokenInvalid   Reason = "id_token_invalid"

	// NotFound, Conflict, TooMany.
	RouteNotFound Reason = "route_not_found"
	RunIDReused   Reason = "run_id_reused"
	RateLimited   Reason = "rate_limited"

	// NotificationsOff (Conflict): a test notification with no destination configured.
	NotificationsOff Reason = "notifications_not_configured"

	// Unavailable: try again later, or ask the operator.
	DatabaseUnavailable Reason = "database_unavailable"
	FeedStale           Reason = "feed_stale"
	IdPUnavailable      Reason = "idp_unavailable"
	SignInNotConfigured Reason = "sign_in_not_configured"
)

// The reasons of service users and their workloads.
const (
	// Forbidden: the token's service user is disabled; a workload it does not hold.
	ServiceUserDisabled Reason = "service_user_disabled"
	WorkloadForbidden   Reason = "workload_forbidden"
	// Invalid: pipeline:write without a list of workloads; a token's scopes beyond its user's.
	WorkloadsRequired Reason = "workloads_required"
	ScopesTooWide     Reason = "scopes_too_wide"
	// Conflict: deleting a service user that has active tokens.
	ServiceUserHasTokens Reason = "service_user_has_tokens"
)

// The reasons of token rotation.
const (
	// Unauthorized: the token was rotated and its grace period has ended.
	TokenRotated Reason = "token_rotated"
	// Conflict: rotating a token that already has a successor (the detail names it).
	TokenAlreadyRotated Reason = "token_already_rotated"
)

// reasons is the one table of reasons: each belongs to one code, so one reason always has
// one HTTP status.
var reasons = func() map[Reason]Code {
	m := map[Reason]Code{
		CredentialsMissing: Unauthorized, AuthHeaderMalformed: Unauthorized, AuthHeaderRepeated: Unauthorized,
		TokenMalformed: Unauthorized, TokenBadSignature: Unauthorized, TokenInvalid: Unauthorized,
		TokenExpired: Unauthorized, TokenNotYetValid: Unauthorized, TokenWrongIssuer: Unauthorized,
		TokenWrongAudience: Unauthorized, TokenRevoked: Unauthorized, TokenUnknown: Unauthorized,
		SessionEnded: Unauthorized,

		AdminRequired: Forbidden, NotAdmin: Forbidden, SessionRequired: Forbidden,
		ServiceTokenRequired: Forbidden, ScopeMissing: Forbidden, CSRFInvalid: Forbidden,
		CrossOrigin: Forbidden, IdPClaimMissing: Forbidden, IdPClaimInvalid: Forbidden,

		InvalidJSON: Invalid, UnknownField: Invalid, WrongType: Invalid, AmbiguousJSONKey: Invalid,
		InvalidField: Invalid, InvalidParameter: Invalid, InvalidCursor: Invalid, UnknownWorkload: Invalid,
		SignInExpired: Invalid, SignInReplayed: Invalid, SignInIncomplete: Invalid, SignInRefused: Invalid,
		IDTokenInvalid: Invalid,

		RouteNotFound: NotFound,
		RunIDReused:   Conflict,
		RateLimited:   TooMany,

		NotificationsOff: Conflict,

		DatabaseUnavailable: Unavailable, FeedStale: Unavailable, IdPUnavailable: Unavailable,
		SignInNotConfigured: Unavailable,

		ServiceUserDisabled: Forbidden, WorkloadForbidden: Forbidden, WorkloadsRequired: Invalid, ScopesTooWide: Invalid,
		ServiceUserHasTokens: Conflict,

		TokenRotated: Unauthorized, TokenAlreadyRotated: Conflict,
	}
	for c := range defaultReason {
		m[Reason(c)] = c
	}
	return m
}()

// defaultReason is each code's generic reason: the code's own name.
var defaultReason = func() map[Code]Reason {
	m := map[Code]Reason{}
	for _, c := range []Code{Invalid, Unauthorized, Forbidden, NotFound, Conflict, TooLarge, TooMany,
		Unavailable, Internal, NotAllowed, UnsupportedMedia} {
		m[c] = Reason(c)
	}
	return m
}()

// Code is the code r belongs to (Internal for a reason not in the table).
func (r Reason) Code() Code {
	c, _ := r.codeAndReason()
	return c
}

// Codes lists every code, sorted.
func Codes() []Code {
	return slices.Sorted(maps.Keys(defaultReason))
}

// Reasons lists every reason, the generic ones included, sorted: what the API documents.
func Reasons() []Reason {
	return slices.Sorted(maps.Keys(reasons))
}
