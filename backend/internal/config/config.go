// Package config reads CodeMetrics' configuration from environment variables into one typed
// struct, validated once at start-up.
package config

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/names"
)

// Environments.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Database drivers.
const (
	DriverSQLite = "sqlite"
	DriverMySQL  = "mysql"
)

// MinKeyLength is the shortest accepted HS256 signing key, in bytes.
const MinKeyLength = 32

// Config is the whole configuration of a CodeMetrics process.
type Config struct {
	Env      string
	HTTPAddr string
	// MetricsAddr serves Prometheus metrics; "" when turned off.
	MetricsAddr string
	// MetricsPublic says metrics may listen beyond loopback in production (METRICS_PUBLIC).
	MetricsPublic bool
	// AllowInsecureHTTP lets production run on http URLs (ALLOW_INSECURE_HTTP), for a private
	// network only.
	AllowInsecureHTTP bool
	PublicURL         *url.URL
	DatabaseDriver    string
	DatabaseDSN       string

	ServiceTokenTTL time.Duration
	// TokenRecheckInterval is how long a verified service token is trusted from an instance's
	// cache before its database row is read again.
	TokenRecheckInterval time.Duration
	TokenIssuer          string
	// SigningKey signs and verifies tokens. SigningKeySource says where it came from
	// ("environment", "file <path>" or "generated <path>"), never the key itself.
	SigningKey       []byte
	SigningKeySource string
	// PreviousSigningKeys still verify tokens signed before a key rotation.
	PreviousSigningKeys [][]byte
	// CookieKey signs cookies (CSRF tokens, and the login state of the sign-in).
	CookieKey []byte

	TrustedProxies []string
	SessionTTL     time.Duration
	// SessionIdleTimeout ends a session that has not been used for that long.
	SessionIdleTimeout time.Duration

	// RateLimitPerMinute limits each service token (0: no limit); AuthRateLimitPerMinute limits
	// failed authentications and sign-in attempts per client address.
	RateLimitPerMinute     int
	AuthRateLimitPerMinute int

	// Sign-in through OpenID Connect.
	OIDCIssuerURL    string
	OIDCClientID     string
	OIDCClientSecret string
	OIDCGroupsClaim  string
	OIDCScopes       []string
	AdminEmails      []string // lower-case
	AdminGroups      []string

	// Tuning without environment variables: tests and benchmarks set them directly.
	RevocationPollInterval time.Duration // how often the revocation feed is read
	RevocationMaxStaleness time.Duration // older than this, authenticated calls fail closed (503)
	LastUsedFlushInterval  time.Duration // how stale "last used" may be in the database
}

// Production reports whether development defaults are forbidden.
func (c Config) Production() bool { return c.Env == EnvProduction }

// Load reads the configuration through getenv (os.Getenv in production, a map in tests).
// It does not touch the file system: call ResolveSigningKey for the SQLite key file.
func Load(getenv func(string) string) (Config, error) {
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		Env:                    env("APP_ENV", EnvDevelopment),
		HTTPAddr:               env("HTTP_ADDR", ":8080"),
		MetricsAddr:            env("METRICS_ADDR", "127.0.0.1:9090"),
		DatabaseDriver:         env("DATABASE_DRIVER", DriverSQLite),
		TokenIssuer:            env("TOKEN_ISSUER", "codemetrics"),
		RevocationPollInterval: 250 * time.Millisecond,
		RevocationMaxStaleness: 10 * time.Second,
		LastUsedFlushInterval:  30 * time.Second,
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.Env != EnvDevelopment && c.Env != EnvProduction {
		fail("APP_ENV=%q: use %q or %q", c.Env, EnvDevelopment, EnvProduction)
	}
	prod := c.Env == EnvProduction
	if c.MetricsAddr == "off" {
		c.MetricsAddr = ""
	} else if c.MetricsAddr == c.HTTPAddr {
		fail("METRICS_ADDR must differ from HTTP_ADDR: metrics are never served on the public port (use \"off\" to turn them off)")
	}

	rawURL := getenv("PUBLIC_URL")
	if strings.TrimSpace(rawURL) == "" {
		if prod {
			fail("PUBLIC_URL is required in production: the external https URL of CodeMetrics")
		}
		rawURL = "http://localhost:8080"
	}
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(rawURL), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		fail("PUBLIC_URL=%q: want an absolute http(s) URL such as https://codemetrics.example.com", rawURL)
	} else {
		c.PublicURL = u
	}

	switch c.DatabaseDriver {
	case DriverSQLite:
		if prod && getenv("DATABASE_DSN") == "" {
			fail("DATABASE_DSN is required in production")
		}
		c.DatabaseDSN = env("DATABASE_DSN", "data/codemetrics.db")
	case DriverMySQL:
		c.DatabaseDSN = env("DATABASE_DSN", "")
		if c.DatabaseDSN == "" {
			fail("DATABASE_DSN is required with DATABASE_DRIVER=mysql, e.g. user:pass@tcp(db:3306)/codemetrics")
		}
	default:
		fail("DATABASE_DRIVER=%q: use %q or %q", c.DatabaseDriver, DriverSQLite, DriverMySQL)
	}

	c.ServiceTokenTTL = 365 * 24 * time.Hour
	if v := env("SERVICE_TOKEN_TTL", ""); v != "" {
		if d, err := ParseDuration(v); err != nil {
			fail("SERVICE_TOKEN_TTL=%q: %v", v, err)
		} else {
			c.ServiceTokenTTL = d
		}
	}
	c.TokenRecheckInterval = 5 * time.Minute
	if v := env("TOKEN_RECHECK_INTERVAL", ""); v != "" {
		if d, err := time.ParseDuration(v); err != nil || d < time.Second || d > 24*time.Hour {
			fail("TOKEN_RECHECK_INTERVAL=%q: want a Go duration from 1s to 24h, such as \"5m\"", v)
		} else {
			c.TokenRecheckInterval = d
		}
	}
	c.SessionTTL = 8 * time.Hour
	if v := env("SESSION_TTL", ""); v != "" {
		if d, err := ParseDuration(v); err != nil {
			fail("SESSION_TTL=%q: %v", v, err)
		} else {
			c.SessionTTL = d
		}
	}
	c.SessionIdleTimeout = time.Hour
	if v := env("SESSION_IDLE_TIMEOUT", ""); v != "" {
		if d, err := ParseDuration(v); err != nil {
			fail("SESSION_IDLE_TIMEOUT=%q: %v", v, err)
		} else {
			c.SessionIdleTimeout = d
		}
	}

	if key := getenv("TOKEN_SIGNING_KEY"); key != "" {
		if len(key) < MinKeyLength {
			fail("TOKEN_SIGNING_KEY is %d bytes long: it must be at least %d (try: openssl rand -base64 48)", len(key), MinKeyLength)
		} else {
			c.SigningKey, c.SigningKeySource = []byte(key), "environment"
		}
	} else if prod || c.DatabaseDriver == DriverMySQL {
		fail("TOKEN_SIGNING_KEY is required with %s: every replica must share one key (try: openssl rand -base64 48)",
			map[bool]string{true: "APP_ENV=production", false: "DATABASE_DRIVER=mysql"}[prod])
	}
	if v := getenv("TOKEN_SIGNING_KEYS_PREVIOUS"); v != "" {
		for i, key := range strings.Split(v, ",") {
			key = strings.TrimSpace(key)
			if len(key) < MinKeyLength {
				fail("TOKEN_SIGNING_KEYS_PREVIOUS: key %d is %d bytes long: each must be at least %d", i+1, len(key), MinKeyLength)
				continue
			}
			c.PreviousSigningKeys = append(c.PreviousSigningKeys, []byte(key))
		}
	}
	if key := getenv("COOKIE_SIGNING_KEY"); key != "" {
		if len(key) < MinKeyLength {
			fail("COOKIE_SIGNING_KEY is %d bytes long: it must be at least %d", len(key), MinKeyLength)
		} else {
			c.CookieKey = []byte(key)
		}
	}

	if v := env("TRUSTED_PROXIES", ""); v != "" {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			if _, err := netip.ParsePrefix(p); err != nil {
				if _, err := netip.ParseAddr(p); err != nil {
					fail("TRUSTED_PROXIES: %q is neither an IP address nor a CIDR range", p)
					continue
				}
			}
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	c.RateLimitPerMinute = 600
	c.AuthRateLimitPerMinute = 30
	for name, dst := range map[string]*int{"RATE_LIMIT_PER_MINUTE": &c.RateLimitPerMinute, "AUTH_RATE_LIMIT_PER_MINUTE": &c.AuthRateLimitPerMinute} {
		if v := env(name, ""); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 1_000_000 {
				fail("%s=%q: want a whole number of requests per minute from 0 (no limit) to 1000000", name, v)
				continue
			}
			*dst = n
		}
	}
	c.OIDCIssuerURL = strings.TrimRight(env("OIDC_ISSUER_URL", ""), "/")
	c.OIDCClientID = env("OIDC_CLIENT_ID", "")
	c.OIDCClientSecret = getenv("OIDC_CLIENT_SECRET")
	c.OIDCGroupsClaim = env("OIDC_GROUPS_CLAIM", "groups")
	c.OIDCScopes = strings.Fields(strings.ReplaceAll(env("OIDC_SCOPES", "openid email profile groups"), ",", " "))
	if !slices.Contains(c.OIDCScopes, "openid") {
		fail("OIDC_SCOPES must include openid (and usually email and profile)")
	}
	// ASCII lower-casing only: strings.ToLower would make the Kelvin sign (U+212A) a "k".
	for _, e := range splitList(getenv("ADMIN_EMAILS")) {
		if n, ok := names.Email(e); ok {
			c.AdminEmails = append(c.AdminEmails, n)
		} else {
			fail("ADMIN_EMAILS: %+q holds characters that are invisible or can pass for others (not in Unicode normal form): write the address in plain characters", e)
		}
	}
	c.AdminGroups = splitList(getenv("ADMIN_GROUPS"))
	if c.OIDCIssuerURL != "" || c.OIDCClientID != "" || c.OIDCClientSecret != "" || prod {
		var missing []string
		for name, v := range map[string]string{"OIDC_ISSUER_URL": c.OIDCIssuerURL, "OIDC_CLIENT_ID": c.OIDCClientID, "OIDC_CLIENT_SECRET": c.OIDCClientSecret} {
			if v == "" {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			fail("sign-in needs %s: set them from the client you registered with your identity provider", strings.Join(missing, ", "))
		}
		if u, err := url.Parse(c.OIDCIssuerURL); c.OIDCIssuerURL != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
			fail("OIDC_ISSUER_URL=%q: want the issuer's absolute URL, such as https://login.example.com/realms/main", c.OIDCIssuerURL)
		}
	}
	if prod && len(c.AdminEmails) == 0 && len(c.AdminGroups) == 0 {
		fail("set ADMIN_GROUPS or ADMIN_EMAILS in production: without them nobody can administer CodeMetrics")
	}
	loadSwitches(&c, getenv, fail)
	if prod {
		checkProduction(&c, fail) // production.go
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	if c.SigningKey != nil && c.CookieKey == nil {
		c.CookieKey = DeriveKey(c.SigningKey, "codemetrics cookie signing v1")
	}
	return c, nil
}

// OIDCEnabled reports whether sign-in through an identity provider is configured.
func (c Config) OIDCEnabled() bool { return c.OIDCIssuerURL != "" }

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ParseDuration accepts Go durations ("8760h", "90m") and whole days ("365d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 100*365 {
			return 0, fmt.Errorf("want a whole number of days from 1 to 36500 (\"365d\") or a Go duration (\"8760h\")")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("want a Go duration such as \"8760h\" or a number of days such as \"365d\"")
		}
	}
	if d < time.Minute {
		return 0, fmt.Errorf("must be at least one minute")
	}
	return d, nil
}

// DeriveKey derives a 32-byte key for one purpose from a master key (HKDF-SHA256), so that a
// key for one use never works for another.
func DeriveKey(master []byte, label string) []byte {
	k, err := hkdf.Key(sha256.New, master, nil, label, 32)
	if err != nil {
		panic(err) // only for lengths HKDF cannot produce
	}
	return k
}

// SQLitePath returns the file of a SQLite DSN ("data/x.db?..." or "file:data/x.db?...").
func SQLitePath(dsn string) string {
	p, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	return p
}

// ResolveSigningKey makes sure c has a signing key. With SQLite and no TOKEN_SIGNING_KEY it
// reads, or on first start generates, a key file (mode 0600) beside the database file.
func ResolveSigningKey(c *Config, log *slog.Logger) error {
	if c.SigningKey != nil {
		return nil
	}
	dbPath := SQLitePath(c.DatabaseDSN)
	if c.DatabaseDriver != DriverSQLite || dbPath == "" || dbPath == ":memory:" {
		return errors.New("TOKEN_SIGNING_KEY is not set and there is no database file to keep a generated key beside")
	}
	keyPath := dbPath + ".signing-key"
	if b, err := os.ReadFile(keyPath); err == nil {
		key := strings.TrimSpace(string(b))
		if len(key) < MinKeyLength {
			return fmt.Errorf("signing key file %s holds %d bytes, fewer than %d: delete it to generate a new one (every token issued so far stops working)", keyPath, len(key), MinKeyLength)
		}
		c.SigningKey, c.SigningKeySource = []byte(key), "file "+keyPath
	} else if errors.Is(err, os.ErrNotExist) {
		raw := make([]byte, 48)
		if _, err := rand.Read(raw); err != nil {
			return err
		}
		key := base64.RawURLEncoding.EncodeToString(raw)
		if err := os.MkdirAll(filepath.Dir(keyPath), 0o700); err != nil {
			return fmt.Errorf("create directory for the signing key: %w", err)
		}
		f, err := os.OpenFile(keyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("write the generated signing key: %w", err)
		}
		if _, err := f.WriteString(key + "\n"); err != nil {
			f.Close()
			return fmt.Errorf("write the generated signing key: %w", err)
		}
		if err := f.Close(); err != nil {
			return err
		}
		c.SigningKey, c.SigningKeySource = []byte(key), "generated "+keyPath
		log.Warn("TOKEN_SIGNING_KEY is not set: generated a signing key and kept it beside the database; set TOKEN_SIGNING_KEY before running more than one instance",
			"key_file", keyPath)
	} else {
		return fmt.Errorf("read the signing key file: %w", err)
	}
	if c.CookieKey == nil {
		c.CookieKey = DeriveKey(c.SigningKey, "codemetrics cookie signing v1")
	}
	return nil
}

// LogValue shows the configuration with its secrets left out.
func (c Config) LogValue() slog.Value {
	pub := ""
	if c.PublicURL != nil {
		pub = c.PublicURL.String()
	}
	return slog.GroupValue(
		slog.String("env", c.Env),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.Bool("metrics_public", c.MetricsPublic),
		slog.Bool("allow_insecure_http", c.AllowInsecureHTTP),
		slog.String("public_url", pub),
		slog.String("database_driver", c.DatabaseDriver),
		slog.String("service_token_ttl", c.ServiceTokenTTL.String()),
		slog.String("token_recheck_interval", c.TokenRecheckInterval.String()),
		slog.String("token_issuer", c.TokenIssuer),
		slog.String("signing_key", c.SigningKeySource),
		slog.Int("previous_signing_keys", len(c.PreviousSigningKeys)),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.String("session_ttl", c.SessionTTL.String()),
		slog.String("session_idle_timeout", c.SessionIdleTimeout.String()),
		slog.Int("rate_limit_per_minute", c.RateLimitPerMinute),
		slog.Int("auth_rate_limit_per_minute", c.AuthRateLimitPerMinute),
		slog.String("oidc_issuer_url", c.OIDCIssuerURL),
		slog.String("oidc_client_id", c.OIDCClientID),
		slog.Bool("oidc_client_secret_set", c.OIDCClientSecret != ""),
		slog.String("oidc_groups_claim", c.OIDCGroupsClaim),
		slog.Any("oidc_scopes", c.OIDCScopes),
		slog.Any("admin_emails", c.AdminEmails),
		slog.Any("admin_groups", c.AdminGroups),
	)
}
