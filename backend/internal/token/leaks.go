package token

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/names"
	"github.com/golang-jwt/jwt/v5"
)

// Leak reports: anyone (a secret scanner, a person who found a token) may send token values;
// each correctly signed, active service token among them is revoked at once.
const (
	// ReasonLeaked is the revocation reason of a token reported leaked.
	ReasonLeaked = "leaked"
	// LeakReporter is the actor of a leak report's revocations: nobody signed in; the audit
	// event carries the reporter's address.
	LeakReporter = "leak-report"
	// MaxLeakTokens is the most token values one report may hold.
	MaxLeakTokens = 100
	// MaxLeakSource is the longest source (where the tokens were found), in characters.
	MaxLeakSource = 500
	// maxTokenLength: nothing longer is one of ours, so it is not even parsed.
	maxTokenLength = 4096
)

// LeakStore is what leak reports need from persistence.
type LeakStore interface {
	// RevokeLeakedToken revokes the active token id as RevokeToken does, with the reason
	// ReasonLeaked and a token.leaked notification in place of token.revoked. NotFound when
	// there is no active token with that id.
	RevokeLeakedToken(ctx context.Context, id string, at time.Time, by string, event func(Token) audit.Event) (Token, error)
}

// LeakReport is one report of leaked token values.
type LeakReport struct {
	Tokens []string
	// Source says where they were found (a URL, a file); optional.
	Source string
	// By is the reporter as the request shows it (address, request id); its Actor is ignored.
	By audit.Context
}

// LeakOutcome is what a report changed. It is for the server's own use (logs, ending sessions),
// never for the reporter, who is told only how many values were received.
type LeakOutcome struct {
	// Revoked are the service tokens the report revoked.
	Revoked []Token
	// Sessions are the verified claims of the session tokens in the report: the caller ends
	// their sessions.
	Sessions []*Claims
}

// NormalizeLeakSource checks a report's source: at most MaxLeakSource characters of visible
// text on one line (it is shown in the audit log).
func NormalizeLeakSource(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
		return "", apperr.New(apperr.InvalidField, "source must be valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(s); n > MaxLeakSource {
		return "", apperr.New(apperr.InvalidField, "source is %d characters long: use at most %d (a URL or a file name)", n, MaxLeakSource)
	}
	if err := names.CheckVisible(s); err != nil {
		return "", apperr.New(apperr.InvalidField, "source must hold only visible characters on one line (a URL or a file name)")
	}
	// A scanner may name the place by a URL that holds the value itself (?token=eyJ…): the
	// source is kept in the audit log, a value never is.
	return jwtLike.ReplaceAllString(s, "[token]"), nil
}

// jwtLike matches what could be a token value: three base64url segments, the first a JSON
// object's (eyJ).
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*`)

// CheckLeakReport refuses a report that is not one: more than MaxLeakTokens values, or a bad
// source. What the values are is never a reason to refuse it.
func CheckLeakReport(r *LeakReport) error {
	if len(r.Tokens) > MaxLeakTokens {
		return apperr.New(apperr.InvalidField, "tokens holds %d values: send at most %d per report (split a longer list)", len(r.Tokens), MaxLeakTokens)
	}
	src, err := NormalizeLeakSource(r.Source)
	if err != nil {
		return err
	}
	r.Source = src
	return nil
}

// ReportLeak revokes every correctly signed (by the current or a previous key), active service
// token of the report with the reason ReasonLeaked, through the revocation feed, with an audit
// event naming the source and the reporter's address and a token.leaked notification. Values
// that are not ours, forged, expired or already revoked change nothing; each correctly signed
// one takes the same path (one revocation attempt in the database) whether it was active or
// not. A revocation the database refuses is logged (by token id, never the value) and the
// others go on: the reporter's answer never depends on the values.
func (s *Service) ReportLeak(ctx context.Context, r LeakReport, log *slog.Logger) (LeakOutcome, error) {
	if err := CheckLeakReport(&r); err != nil {
		return LeakOutcome{}, err
	}
	ls, ok := s.store.(LeakStore)
	if !ok {
		return LeakOutcome{}, apperr.New(apperr.Internal, "the store cannot revoke leaked tokens")
	}
	by := r.By
	by.Actor, by.ActorID, by.Credential = LeakReporter, "", ""
	var out LeakOutcome
	seen := map[string]bool{}
	for _, raw := range r.Tokens {
		raw = strings.TrimSpace(raw)
		if raw == "" || len(raw) > maxTokenLength {
			continue
		}
		c, err := s.keys.Parse(raw)
		if err != nil || seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		if c.TokenUse == UseSession {
			out.Sessions = append(out.Sessions, c)
			continue
		}
		if !validID(c.ID) {
			continue
		}
		now := s.now().UTC()
		t, err := ls.RevokeLeakedToken(ctx, c.ID, now, LeakReporter, func(t Token) audit.Event {
			details := map[string]any{"subject": t.Subject, "reason": ReasonLeaked, "leakReport": true}
			if r.Source != "" {
				details["source"] = r.Source
			}
			return by.Event(now, ActionRevoked, t.ID, details)
		})
		switch {
		case apperr.Is(err, apperr.NotFound):
			// Revoked, expired or deleted already: nothing to do.
		case err != nil:
			log.Error("could not revoke a token reported leaked: revoke it by hand", "token_id", c.ID, "err", err)
		default:
			if s.guard != nil {
				s.guard.MarkRevoked(t.ID, t.ExpiresAt)
			}
			out.Revoked = append(out.Revoked, t)
		}
	}
	return out, nil
}

// Identify finds the service token raw is: its signature must verify with a key of this
// server (expiry aside: an expired token is identified too), then its row is read by its id,
// whatever its state (its Status says which). NotFound when the value is not a service token of this server (a bad
// signature, another issuer or audience, a session token, no row). The value is neither kept
// nor logged.
func (s *Service) Identify(ctx context.Context, raw string) (Token, error) {
	errNotOurs := apperr.New(apperr.NotFound, "this value is not a service token of this CodeMetrics: its signature does not verify with a key of this server, or no token has its id")
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > maxTokenLength {
		return Token{}, errNotOurs
	}
	c, err := s.keys.Parse(raw)
	if apperr.ReasonOf(err) == apperr.TokenExpired {
		c, err = s.keys.parseIgnoringExpiry(raw)
	}
	if err != nil || c.TokenUse != UseService || !validID(c.ID) {
		return Token{}, errNotOurs
	}
	t, err := s.store.GetToken(ctx, c.ID)
	if apperr.Is(err, apperr.NotFound) {
		return Token{}, errNotOurs
	}
	if err != nil {
		return Token{}, err
	}
	one := []Token{t}
	err = s.addRecent(ctx, one)
	return one[0], err
}

// expiredParser verifies a signature and decodes the claims without judging them by time; the
// issuer and audience are checked by parseIgnoringExpiry.
var expiredParser = jwt.NewParser(
	jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
	jwt.WithoutClaimsValidation(),
	jwt.WithStrictDecoding(),
)

// parseIgnoringExpiry is Parse for a token that has expired (Identify): the same signature,
// issuer, audience and claim checks, only not its time.
func (k *Keyring) parseIgnoringExpiry(raw string) (*Claims, error) {
	c := &Claims{}
	if _, err := expiredParser.ParseWithClaims(raw, c, k.keyFor); err != nil {
		return nil, invalid(reason(err))
	}
	switch {
	case c.Issuer != k.issuer:
		return nil, invalid(apperr.TokenWrongIssuer, "wrong issuer")
	case c.Audience != Audience:
		return nil, invalid(apperr.TokenWrongAudience, "wrong audience")
	case c.ExpiresAt == nil, c.IssuedAt == nil, c.ID == "", c.Subject == "":
		return nil, invalid(apperr.TokenInvalid, "required claim missing")
	}
	return c, nil
}
