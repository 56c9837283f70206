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
	for _, s := range strings.Fields(c.Scope) {
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

// ErrInvalid is returned, wrapped, for every token that fails signature or claim checks.
var ErrInvalid = errors.New("invalid token")

// Parse verifies the signature and the registered claims of raw and returns its claims. It
// touches nothing but memory: a forged token is refused before any database query.
func (k *Keyring) Parse(raw string) (*Claims, error) {
	c := &Claims{}
	_, err := k.parser.ParseWithClaims(raw, c, k.keyFor)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, reason(err))
	}
	switch {
	case c.ID == "":
		return nil, fmt.Errorf("%w: no jti", ErrInvalid)
	case c.Subject == "":
		return nil, fmt.Errorf("%w: no sub", ErrInvalid)
	case c.IssuedAt == nil:
		return nil, fmt.Errorf("%w: no iat", ErrInvalid)
	case c.TokenUse != UseService && c.TokenUse != UseSession:
		return nil, fmt.Errorf("%w: token_use is not %q", ErrInvalid, UseService)
	}
	return c, nil
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

// reason turns a golang-jwt error into a short, fixed phrase for logs and 401 bodies, so that
// nothing the caller sent is echoed back.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "bad signature or key"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued), errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "required claim missing"
	default:
		return "invalid claims"
	}
}
