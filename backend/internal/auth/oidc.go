package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/names"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// LoginStateTTL is how long a sign-in may take between leaving for the identity provider and
// coming back.
const LoginStateTTL = 10 * time.Minute

// OIDCConfig configures sign-in through an OpenID Provider.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string // PUBLIC_URL + /auth/callback
	GroupsClaim  string
	Scopes       []string // default: openid email profile and the groups claim
	AdminEmails  []string // compared as names.Email normalises them
	AdminGroups  []string
	// StateKey signs the login-state cookie.
	StateKey []byte
	Now      func() time.Time
	// HTTPClient talks to the provider; a client with a timeout when nil.
	HTTPClient *http.Client
}

// StateStore remembers which sign-in states were used, across replicas.
type StateStore interface {
	MarkLoginStateUsed(ctx context.Context, stateHash string, expires, now time.Time) error
}

// SignIn runs the OpenID Connect authorization code flow with PKCE. Its login state travels in
// a signed cookie, not in process memory, so the callback may land on any replica.
type SignIn struct {
	cfg         OIDCConfig
	states      StateStore
	log         *slog.Logger
	adminEmails []string // normalised by names.Email

	mu       sync.RWMutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	lastErr  error
}

// NewSignIn returns a sign-in that has not yet contacted the provider: call Discover, or
// KeepDiscovering in the background.
func NewSignIn(cfg OIDCConfig, states StateStore, log *slog.Logger) *SignIn {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "email", "profile", cfg.GroupsClaim}
	}
	si := &SignIn{cfg: cfg, states: states, log: log}
	for _, e := range cfg.AdminEmails {
		if n, ok := names.Email(e); ok {
			si.adminEmails = append(si.adminEmails, n)
		} else {
			log.Warn("ADMIN_EMAILS entry ignored: it holds characters that can pass for others", "email", e)
		}
	}
	return si
}

func (s *SignIn) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, s.cfg.HTTPClient)
}

// Discover reads the provider's discovery document once.
func (s *SignIn) Discover(ctx context.Context) error {
	p, err := oidc.NewProvider(s.ctx(ctx), s.cfg.Issuer)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.lastErr = err
		return err
	}
	s.oauth = &oauth2.Config{
		ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, RedirectURL: s.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: s.cfg.Scopes,
	}
	s.verifier = p.Verifier(&oidc.Config{ClientID: s.cfg.ClientID, Now: s.cfg.Now})
	s.lastErr = nil
	return nil
}

// KeepDiscovering retries discovery with backoff until it succeeds or ctx ends: a provider
// that is down at start-up does not stop CodeMetrics.
func (s *SignIn) KeepDiscovering(ctx context.Context) {
	wait := time.Second
	for {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := s.Discover(dctx)
		cancel()
		if err == nil {
			s.log.Info("identity provider ready", "issuer", s.cfg.Issuer)
			return
		}
		s.log.Warn("identity provider unreachable; sign-in is unavailable until it answers", "issuer", s.cfg.Issuer, "err", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 30*time.Second)
	}
}

func (s *SignIn) ready(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	s.mu.RLock()
	oc, v := s.oauth, s.verifier
	s.mu.RUnlock()
	if oc != nil {
		return oc, v, nil
	}
	// Not discovered yet: one attempt now, so a provider that just came up works at once.
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.Discover(dctx); err != nil {
		return nil, nil, apperr.Wrap(err, apperr.IdPUnavailable,
			"the identity provider at %s cannot be reached right now, so sign-in is unavailable; try again in a moment", s.cfg.Issuer)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.oauth, s.verifier, nil
}

// loginState is what the login-state cookie carries between /auth/login and /auth/callback.
type loginState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Redirect string `json:"r"`
	Expires  int64  `json:"e"`
}

// Begin starts a sign-in: it returns the provider URL to send the browser to and the value
// of the login-state cookie to set. redirect must already be a safe local path.
func (s *SignIn) Begin(ctx context.Context, redirect string) (authURL, cookie string, err error) {
	oc, _, err := s.ready(ctx)
	if err != nil {
		return "", "", err
	}
	st := loginState{Verifier: oauth2.GenerateVerifier(), Redirect: redirect, Expires: s.cfg.Now().Add(LoginStateTTL).Unix()}
	if st.State, err = randomString(24); err != nil {
		return "", "", err
	}
	if st.Nonce, err = randomString(24); err != nil {
		return "", "", err
	}
	cookie, err = s.seal(st)
	if err != nil {
		return "", "", err
	}
	return oc.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), cookie, nil
}

// Outcome is a finished sign-in: who the provider says it is, and where to send them.
type Outcome struct {
	Identity Identity
	Redirect string
}

var errStale = apperr.New(apperr.SignInExpired, "this sign-in has expired or was started in another browser: start again")

// Finish checks the callback against the login state, exchanges the code (with the PKCE
// verifier), verifies the ID token and its nonce, and decides whether the person is an
// administrator. Nothing here starts a session: the caller does, for administrators.
func (s *SignIn) Finish(ctx context.Context, cookie, state, code string) (Outcome, error) {
	st, err := s.open(cookie)
	if err != nil {
		return Outcome{}, errStale
	}
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(st.State)) != 1 {
		return Outcome{}, errStale
	}
	if code == "" {
		return Outcome{}, apperr.New(apperr.SignInIncomplete, "the identity provider sent no authorization code: start again")
	}
	oc, verifier, err := s.ready(ctx)
	if err != nil {
		return Outcome{}, err
	}
	// One use per state, on every replica: a replayed callback is refused before the exchange.
	sum := sha256.Sum256([]byte(st.State))
	if err := s.states.MarkLoginStateUsed(ctx, hex.EncodeToString(sum[:]), time.Unix(st.Expires, 0), s.cfg.Now()); err != nil {
		if apperr.Is(err, apperr.Conflict) {
			return Outcome{}, apperr.New(apperr.SignInReplayed, "this sign-in response was already used: start again")
		}
		return Outcome{}, err
	}
	tok, err := oc.Exchange(s.ctx(ctx), code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return Outcome{}, apperr.Wrap(err, apperr.SignInRefused, "the identity provider did not accept the sign-in: start again")
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return Outcome{}, apperr.New(apperr.IDTokenInvalid, "the identity provider returned no ID token")
	}
	idt, err := verifier.Verify(s.ctx(ctx), rawID)
	if err != nil {
		return Outcome{}, apperr.Wrap(err, apperr.IDTokenInvalid, "the ID token from the identity provider is not valid")
	}
	// go-oidc leaves the nonce to the caller.
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return Outcome{}, apperr.New(apperr.IDTokenInvalid, "the ID token does not belong to this sign-in (nonce mismatch)")
	}
	id, err := s.identity(idt)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Identity: id, Redirect: st.Redirect}, nil
}

// Longest claims kept: the columns of a session (the same on every database). A longer subject
// or email is refused, since cutting it could make it another person's; a longer name is cut.
const (
	MaxSubjectLength = 255
	MaxEmailLength   = 254 // RFC 5321's longest address
	MaxNameLength    = 400
	maxReasonLength  = 400
)

// identity reads the claims and applies ADMIN_EMAILS and ADMIN_GROUPS. The person is keyed by
// issuer and subject; the email only names them, and only a verified email matches
// ADMIN_EMAILS. A member of an administrators' group whose email is unverified is admitted,
// and named by the email marked "(unverified)" wherever it appears.
func (s *SignIn) identity(idt *oidc.IDToken) (Identity, error) {
	var claims map[string]json.RawMessage
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, apperr.Wrap(err, apperr.IDTokenInvalid, "the ID token's claims cannot be read")
	}
	var email, name string
	var verified bool
	_ = json.Unmarshal(claims["email"], &email)
	_ = json.Unmarshal(claims["name"], &name)
	_ = json.Unmarshal(claims["email_verified"], &verified)
	if email == "" {
		return Identity{}, apperr.New(apperr.IdPClaimMissing, "the identity provider did not share an email address: allow the email scope for this client")
	}
	if err := checkClaim("subject (sub)", idt.Subject, MaxSubjectLength); err != nil {
		return Identity{}, err
	}
	if err := checkClaim("email address", email, MaxEmailLength); err != nil {
		return Identity{}, err
	}
	name = names.Truncate(strings.TrimSpace(names.Strip(name)), MaxNameLength)
	if name == "" {
		name = email
	}
	groups := stringsClaim(claims[s.cfg.GroupsClaim])
	id := Identity{
		Issuer: idt.Issuer, Subject: idt.Subject, Email: email, EmailVerified: verified, Name: name,
		Reason: "not in ADMIN_EMAILS and in no group of ADMIN_GROUPS",
	}
	normalized, plain := names.Email(email)
	listed := plain && slices.Contains(s.adminEmails, normalized)
	switch {
	case verified && listed:
		id.IsAdmin, id.Reason = true, "email "+email+" is in ADMIN_EMAILS"
	default:
		for _, g := range groups {
			if slices.Contains(s.cfg.AdminGroups, g) {
				id.IsAdmin, id.Reason = true, "member of group "+g+" (ADMIN_GROUPS)"
				break
			}
		}
		if !id.IsAdmin && !verified && listed {
			id.Reason = "email " + email + " is in ADMIN_EMAILS but the identity provider has not verified it"
		}
	}
	id.Reason = names.Truncate(id.Reason, maxReasonLength)
	return id, nil
}

// checkClaim refuses a claim that names someone but is too long to keep whole or holds
// characters that would hide what it says.
func checkClaim(what, v string, maxLen int) error {
	if n := utf8.RuneCountInString(v); n > maxLen {
		return apperr.New(apperr.IdPClaimInvalid, "the identity provider sent a %s of %d characters; CodeMetrics accepts at most %d: ask your identity provider's administrator to shorten it", what, n, maxLen)
	}
	if v == "" {
		return apperr.New(apperr.IdPClaimMissing, "the identity provider sent no %s", what)
	}
	if err := names.CheckVisible(v); err != nil {
		return apperr.New(apperr.IdPClaimInvalid, "the identity provider sent a %s with a character that is invisible or reorders text (%v): ask your identity provider's administrator to correct it", what, err)
	}
	return nil
}

// stringsClaim reads a claim that providers send either as a list of strings or as one string.
func stringsClaim(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}
	}
	return nil
}

func (s *SignIn) seal(st loginState) (string, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + s.mac(body), nil
}

func (s *SignIn) open(cookie string) (loginState, error) {
	body, sig, ok := strings.Cut(cookie, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.mac(body))) {
		return loginState{}, errors.New("bad signature")
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return loginState{}, err
	}
	var st loginState
	if err := json.Unmarshal(b, &st); err != nil {
		return loginState{}, err
	}
	if s.cfg.Now().Unix() >= st.Expires {
		return loginState{}, errors.New("expired")
	}
	return st, nil
}

func (s *SignIn) mac(body string) string {
	m := hmac.New(sha256.New, s.cfg.StateKey)
	m.Write([]byte("login-state\x00" + body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SafeRedirect returns target if it is a path on this site, else "/". It refuses what browsers
// would take to another host: "//evil", "/\evil", "https:evil", encoded or not.
func SafeRedirect(target string) string {
	if target == "" || len(target) > 2048 || target[0] != '/' {
		return "/"
	}
	if strings.HasPrefix(target, "//") || strings.ContainsAny(target, "\\\r\n\t\x00") {
		return "/"
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	if dec, err := url.PathUnescape(u.EscapedPath()); err != nil || strings.HasPrefix(dec, "//") || strings.Contains(dec, "\\") {
		return "/"
	}
	if strings.HasPrefix(u.Path, "/auth/") {
		return "/" // never back into the sign-in itself
	}
	return target
}
