package config

import (
	"math"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Caps that APP_ENV=production holds lifetimes to: a service token that outlives two years is
// a credential nobody remembers issuing, and a session longer than a working day outlives the
// person's presence at the browser (and any change the identity provider makes to them).
const (
	MaxServiceTokenTTL = 730 * 24 * time.Hour
	MaxSessionTTL      = 24 * time.Hour
)

// MinKeyEntropyBits is the least estimated entropy of a production signing key: a 32-character
// hex key (128 random bits) estimates 93 or more; a repeated or patterned key much less.
const MinKeyEntropyBits = 88

// knownKeys are keys published in this project's own files (the docker-compose development
// file, the tests): anyone can sign tokens with them.
var knownKeys = []string{
	"development-only-signing-key-never-use-in-production",
	"test-only-signing-key-0123456789-abcdefghijklmnop",
	"e2e-test-only-signing-key-do-not-use-0123456789x",
}

// knownKeyWords mark a key written to be read by people, not generated.
var knownKeyWords = []string{"development-only", "test-only", "never-use-in-production", "do-not-use", "changeme", "change-me", "example"}

// checkProduction refuses, with APP_ENV=production, what is unsafe there: every message names
// the variable and says what to do.
func checkProduction(c *Config, fail func(string, ...any)) {
	if !c.AllowInsecureHTTP {
		if c.PublicURL != nil && c.PublicURL.Scheme == "http" {
			fail("PUBLIC_URL=%q is http in production: session cookies and tokens would cross the network in clear; use https (TLS may end at your proxy), or set ALLOW_INSECURE_HTTP=true if the network is private", c.PublicURL.String())
		}
		if u, err := url.Parse(c.OIDCIssuerURL); err == nil && u.Scheme == "http" {
			fail("OIDC_ISSUER_URL=%q is http in production: an attacker on the network could answer for your identity provider; use its https URL, or set ALLOW_INSECURE_HTTP=true if the network is private", c.OIDCIssuerURL)
		}
	}
	if why := weakKey(c.SigningKey); why != "" {
		fail("TOKEN_SIGNING_KEY %s: anyone who guesses it can sign tokens; in production use a random key (try: openssl rand -base64 48)", why)
	}
	for i, k := range c.PreviousSigningKeys {
		if why := weakKey(k); why != "" {
			fail("TOKEN_SIGNING_KEYS_PREVIOUS: key %d %s: tokens signed with it can be forged; drop it from the list (its tokens stop working)", i+1, why)
		}
	}
	if why := weakKey(c.CookieKey); why != "" {
		fail("COOKIE_SIGNING_KEY %s: in production use a random key (try: openssl rand -base64 48), or unset it to derive one from TOKEN_SIGNING_KEY", why)
	}
	for _, p := range c.TrustedProxies {
		if pre, err := netip.ParsePrefix(p); err == nil && pre.Bits() == 0 {
			fail("TRUSTED_PROXIES contains %s, which trusts every address: anyone could forge X-Forwarded-For and dodge the rate limits; list your proxies' addresses or ranges", p)
		}
	}
	if c.ServiceTokenTTL > MaxServiceTokenTTL {
		fail("SERVICE_TOKEN_TTL=%s is longer than the production cap of 730d (two years): choose 730d or less and rotate tokens", c.ServiceTokenTTL)
	}
	if c.SessionTTL > MaxSessionTTL {
		fail("SESSION_TTL=%s is longer than the production cap of 24h: choose 24h or less (people sign in again through SSO)", c.SessionTTL)
	}
	if c.MetricsAddr != "" && !c.MetricsPublic && !loopback(c.MetricsAddr) {
		fail("METRICS_ADDR=%q listens beyond this host in production: use 127.0.0.1:9090 (scrape through a sidecar or the host), or set METRICS_PUBLIC=true if your network keeps it private", c.MetricsAddr)
	}
}

// loopback reports whether a listen address only accepts connections from this host.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// weakKey says why key looks guessable ("is the development key published in
// docker-compose.dev.yml", "has only 3 distinct characters", ...), or "" when it looks random.
// It never repeats the key.
func weakKey(key []byte) string {
	if key == nil {
		return ""
	}
	s := strings.ToLower(string(key))
	for _, k := range knownKeys {
		if s == k {
			return "is a key published in CodeMetrics' own files (docker-compose.dev.yml or the tests)"
		}
	}
	for _, w := range knownKeyWords {
		if strings.Contains(s, w) {
			return "reads like a placeholder (it contains \"" + w + "\")"
		}
	}
	counts := map[byte]int{}
	steps := 0 // neighbours equal or one apart, as in "aaaa" or "abcd"
	for i, b := range key {
		counts[b]++
		if i > 0 && math.Abs(float64(b)-float64(key[i-1])) <= 1 {
			steps++
		}
	}
	if len(counts) < 8 {
		return "has only " + strconv.Itoa(len(counts)) + " distinct characters"
	}
	if steps*2 > len(key)-1 {
		return "is mostly a run of neighbouring characters"
	}
	var h float64
	for _, n := range counts {
		p := float64(n) / float64(len(key))
		h -= p * math.Log2(p)
	}
	if bits := h * float64(len(key)); bits < MinKeyEntropyBits {
		return "has too little variety (about " + strconv.Itoa(int(bits)) + " bits by its character frequencies, want at least " + strconv.Itoa(MinKeyEntropyBits) + ")"
	}
	return ""
}
