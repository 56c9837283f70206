// Package token holds service tokens: their claims, issuing and verifying them, and the
// revocation-aware guard every authenticated API request passes through.
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/golang-jwt/jwt/v5"
)

// Audience is the aud claim of every token CodeMetrics issues.
const Audience = "codemetrics-api"

// Token uses: the token_use claim tells service tokens and session tokens apart.
const (
	UseService = "service"
	UseSession = "session"
)

// Leeway tolerates clock skew between replicas for iat and nbf; exp is enforced exactly.
const Leeway = 30 * time.Second

// Claims are the claims of a CodeMetrics token. Audience is a single string, as issued; a token
// whose aud is anything else does not decode and is refused.
type Claims struct {
	ID        string           `json:"jti"`
	Subject   string           `json:"sub"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ExpiresAt *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	Issuer    string           `json:"iss"`
	Audience  string           `json:"aud"`
	TokenUse  string           `json:"token_use"`
	Scope     string           `json:"scope,omitempty"`
	// SessionID names the administrator session a session token was taken from.
	SessionID string `json:"sid,omitempty"`
}

var _ jwt.Claims = (*Claims)(nil)

// UnmarshalJSON decodes claims strictly by JSON type, as RFC 7519 wants: jwt.NumericDate alone
// would take "exp": "1999999999" (a string) for a date, and a claim of the wrong type must
// make the token invalid, not be read leniently.
func (c *Claims) UnmarshalJSON(b []byte) error {
	type plain Claims // the same fields without this method
	var w struct {
		plain
		IssuedAt  *numericDate `json:"iat"`
		ExpiresAt *numericDate `json:"exp"`
		NotBefore *numericDate `json:"nbf,omitempty"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = Claims(w.plain)
	c.IssuedAt, c.ExpiresAt, c.NotBefore = w.IssuedAt.date(), w.ExpiresAt.date(), w.NotBefore.date()
	return nil
}

// numericDate is a jwt.NumericDate that must be a JSON number.
type numericDate struct{ jwt.NumericDate }

func (d *numericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || !(b[0] == '-' || b[0] >= '0' && b[0] <= '9') {
		return errors.New("a date claim must be a JSON number")
	}
	return d.NumericDate.UnmarshalJSON(b)
}

func (d *numericDate) date() *jwt.NumericDate {
	if d == nil {
		return nil
	}
	return &d.NumericDate
}

// GetExpirationTime implements jwt.Claims.
func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }

// GetIssuedAt implements jwt.Claims.
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error) { return c.IssuedAt, nil }

// GetNotBefore implements jwt.Claims.
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error) { return c.NotBefore, nil }

// GetIssuer implements jwt.Claims.
func (c *Claims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c *Claims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements jwt.Claims.
func (c *Claims) GetAudience() (jwt.ClaimStrings, error) { return jwt.ClaimStrings{c.Audience}, nil }

// Scopes returns the scope claim as a list.
func (c *Claims) Scopes() []string { return strings.Fields(c.Scope) }

// HasScope reports whether the token grants scope.
func (c *Claims) HasScope(scope string) bool {
	for s := range strings.FieldsSeq(c.Scope) { // no slice: this runs on every request
		if s == scope {
			return true
		}
	}
	return false
}

// Keyring signs tokens with the current key and verifies them with any key it holds, chosen by
// the kid header.
type Keyring struct {
	currentKID string
	keys       map[string][]byte
	issuer     string
	parser     *jwt.Parser
}

// NewKeyring returns a keyring that signs with current and also verifies with previous keys.
func NewKeyring(issuer string, now func() time.Time, current []byte, previous ...[]byte) *Keyring {
	k := &Keyring{keys: map[string][]byte{}, issuer: issuer}
	k.currentKID = KeyID(current)
	k.keys[k.currentKID] = current
	for _, p := range previous {
		k.keys[KeyID(p)] = p
	}
	k.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(now),
		// One token, one spelling: the last character of a base64url segment carries bits
		// that decode to nothing, so without this each signature verifies in four spellings.
		jwt.WithStrictDecoding(),
	)
	return k
}

// KeyID names a key without revealing it: a truncated HMAC of a fixed label under the key.
func KeyID(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("codemetrics key id v1"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// Sign returns the compact JWS of claims, signed HS256 with the current key.
func (k *Keyring) Sign(c *Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = k.currentKID
	return t.SignedString(k.keys[k.currentKID])
}

// Issuer is the iss claim this keyring issues and requires.
func (k *Keyring) Issuer() string { return k.issuer }

// Parse verifies signature and claims. A token it refuses gets an Unauthorized apperr error
// whose reason says why (token_malformed, token_bad_signature, …) and whose message is a fixed
// phrase: nothing the caller sent is echoed back.
func (k *Keyring) Parse(raw string) (*Claims, error) {
	c := &Claims{}
	_, err := k.parser.ParseWithClaims(raw, c, k.keyFor)
	if err != nil {
		refusal := invalid(reason(err))
		// The parser checks the signature before the claims: an expired service token is one of
		// ours, and its presentation is counted by its id (Guard.CountEnded).
		if errors.Is(err, jwt.ErrTokenExpired) && c.ID != "" && c.TokenUse == UseService {
			return nil, ended(c.ID, refusal)
		}
		return nil, refusal
	}
	switch {
	case c.ID == "":
		return nil, invalid(apperr.TokenInvalid, "no jti")
	case c.Subject == "":
		return nil, invalid(apperr.TokenInvalid, "no sub")
	case c.IssuedAt == nil:
		return nil, invalid(apperr.TokenInvalid, "no iat")
	case c.TokenUse != UseService && c.TokenUse != UseSession:
		return nil, invalid(apperr.TokenInvalid, fmt.Sprintf("token_use is not %q", UseService))
	}
	return c, nil
}

// invalid is Parse's refusal.
func invalid(r apperr.Reason, phrase string) error {
	return apperr.New(r, "the bearer token is invalid: %s", phrase)
}

func (k *Keyring) keyFor(t *jwt.Token) (any, error) {
	kid, ok := t.Header["kid"].(string)
	if !ok {
		return nil, errors.New("no kid header")
	}
	key, ok := k.keys[kid]
	if !ok {
		return nil, errors.New("unknown kid")
	}
	return key, nil
}

// reason turns a golang-jwt error into a reason and a short, fixed phrase for logs and 401
// bodies.
func reason(err error) (apperr.Reason, string) {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return apperr.TokenMalformed, "malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return apperr.TokenBadSignature, "bad signature or key"
	case errors.Is(err, jwt.ErrTokenExpired):
		return apperr.TokenExpired, "expired"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued), errors.Is(err, jwt.ErrTokenNotValidYet):
		return apperr.TokenNotYetValid, "not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return apperr.TokenWrongIssuer, "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return apperr.TokenWrongAudience, "wrong audience"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return apperr.TokenInvalid, "required claim missing"
	default:
		return apperr.TokenInvalid, "invalid claims"
	}
}
