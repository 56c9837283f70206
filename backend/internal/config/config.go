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
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/go-sql-driver/mysql"

	"github.com/codemetrics/codemetrics/backend/internal/names"
	"github.com/codemetrics/codemetrics/backend/internal/notify"
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

// Config is the whole configuration of a CodeMetrics process. Each field with an env tag is one
// environment variable, read by caarlos0/env with the default of its envDefault tag and the
// parser of its type (parsers); README.md's configuration table lists exactly these, with the
// same defaults (TestREADMEConfigurationTable). Two more tags of this package:
//   - secret: the value is used byte for byte (not trimmed) and never logged or repeated in an
//     error.
//   - want: what a valid value looks like, for the message of a value that does not parse or is
//     out of range; without it the parser's own message says so.
type Config struct {
	Env      string `env:"APP_ENV" envDefault:"development"`
	HTTPAddr string `env:"HTTP_ADDR" envDefault:":8080"`
	// MetricsAddr serves Prometheus metrics; "" when turned off.
	MetricsAddr string `env:"METRICS_ADDR" envDefault:"127.0.0.1:9090"`
	// MetricsPublic says metrics may listen beyond loopback in production.
	MetricsPublic bool `env:"METRICS_PUBLIC" envDefault:"false"`
	// AllowInsecureHTTP lets production run on http URLs, for a private network only.
	AllowInsecureHTTP bool     `env:"ALLOW_INSECURE_HTTP" envDefault:"false"`
	PublicURL         *url.URL `env:"PUBLIC_URL" envDefault:"http://localhost:8080"`
	DatabaseDriver    string   `env:"DATABASE_DRIVER" envDefault:"sqlite"`
	// DatabaseDSN's default is for SQLite; MySQL requires one.
	DatabaseDSN string `env:"DATABASE_DSN" envDefault:"data/codemetrics.db"`

	ServiceTokenTTL time.Duration `env:"SERVICE_TOKEN_TTL" envDefault:"365d"`
	// TokenRecheckInterval is how long a verified service token is trusted from an instance's
	// cache before its database row is read again.
	TokenRecheckInterval time.Duration `env:"TOKEN_RECHECK_INTERVAL" envDefault:"5m" want:"a Go duration from 1s to 24h, such as \"5m\""`
	TokenIssuer          string        `env:"TOKEN_ISSUER" envDefault:"codemetrics"`
	// TokenCacheSize bounds how many verified service tokens an instance keeps in memory.
	TokenCacheSize int `env:"TOKEN_CACHE_SIZE" envDefault:"50000" want:"a whole number of tokens from 100 to 10000000"`
	// SigningKey signs and verifies tokens. SigningKeySource says where it came from
	// ("environment", "file <path>" or "generated <path>"), never the key itself.
	SigningKey       []byte `env:"TOKEN_SIGNING_KEY" secret:"true"`
	SigningKeySource string
	// PreviousSigningKeys still verify tokens signed before a key rotation.
	PreviousSigningKeys [][]byte `env:"TOKEN_SIGNING_KEYS_PREVIOUS" secret:"true"`
	// CookieKey signs cookies (CSRF tokens, and the login state of the sign-in).
	CookieKey []byte `env:"COOKIE_SIGNING_KEY" secret:"true"`

	TrustedProxies []string      `env:"TRUSTED_PROXIES"`
	SessionTTL     time.Duration `env:"SESSION_TTL" envDefault:"8h"`
	// SessionIdleTimeout ends a session that has not been used for that long.
	SessionIdleTimeout time.Duration `env:"SESSION_IDLE_TIMEOUT" envDefault:"1h"`

	// RateLimitPerMinute limits each service token (0: no limit); AuthRateLimitPerMinute limits
	// failed authentications and sign-in attempts per client address.
	RateLimitPerMinute     int `env:"RATE_LIMIT_PER_MINUTE" envDefault:"600" want:"a whole number of requests per minute from 0 (no limit) to 1000000"`
	AuthRateLimitPerMinute int `env:"AUTH_RATE_LIMIT_PER_MINUTE" envDefault:"30" want:"a whole number of requests per minute from 0 (no limit) to 1000000"`

	// PipelineRunRetention, when set, is how long pipeline runs are kept after they started:
	// older ones are deleted in the background (their daily rollups stay). 0 keeps every run.
	PipelineRunRetention time.Duration `env:"PIPELINE_RUN_RETENTION" want:"a Go duration or a number of days of at least one day, such as \"400d\" or \"9600h\" (unset keeps every run)"`

	// RotationGracePeriod is how long a rotated token keeps working when the rotation does not
	// say (POST /api/tokens/{id}/rotate's gracePeriod), at most 7 days.
	RotationGracePeriod time.Duration `env:"ROTATION_GRACE_PERIOD" envDefault:"24h" want:"a Go duration or a number of days from 0s to 7d, such as \"24h\" or \"2d\""`
	// StaleAfter is how long a token must go unused (or, never used, exist) to be stale.
	StaleAfter time.Duration `env:"STALE_AFTER" envDefault:"90d" want:"a Go duration or a number of days of at least one day, such as \"90d\" or \"2160h\""`
	// RevocationMaxStaleness is how old the last read of the revocation feed may be before
	// service tokens are refused with 503 (fail closed): the longest a revoked token can stay
	// accepted when the database is unreachable or its node lags.
	RevocationMaxStaleness time.Duration `env:"REVOCATION_MAX_STALENESS" envDefault:"10s" want:"a Go duration from 1s to 5m, such as \"10s\""`
	// DatabaseMaxConnections bounds this instance's pool of MySQL connections (SQLite keeps 4).
	DatabaseMaxConnections int `env:"DATABASE_MAX_CONNECTIONS" envDefault:"32" want:"a whole number of connections from 2 to 1000"`
	// UsageRetention is how long token usage is kept: requests by day, and clients after their
	// last request.
	UsageRetention time.Duration `env:"USAGE_RETENTION" envDefault:"90d" want:"a Go duration or a number of days of at least one day, such as \"90d\" or \"2160h\""`
	// UsageFlushInterval is how often each instance writes last-use times and usage counts: how
	// late they may be in the database.
	UsageFlushInterval time.Duration `env:"USAGE_FLUSH_INTERVAL" envDefault:"30s" want:"a Go duration from 1s to 10m, such as \"30s\""`
	// TokenHistoryRetention is how long tokens that stopped working (expired, revoked, or past
	// their grace period) stay in the history before a background job purges them.
	TokenHistoryRetention time.Duration `env:"TOKEN_HISTORY_RETENTION" envDefault:"400d" want:"a Go duration or a number of days of at least one day, such as \"400d\" or \"9600h\""`

	// Sign-in through OpenID Connect.
	OIDCIssuerURL    string   `env:"OIDC_ISSUER_URL"`
	OIDCClientID     string   `env:"OIDC_CLIENT_ID"`
	OIDCClientSecret string   `env:"OIDC_CLIENT_SECRET" secret:"true"`
	OIDCGroupsClaim  string   `env:"OIDC_GROUPS_CLAIM" envDefault:"groups"`
	OIDCScopes       []string `env:"OIDC_SCOPES" envDefault:"openid email profile groups"` // space- or comma-separated
	AdminEmails      []string `env:"ADMIN_EMAILS"`                                         // lower-case
	AdminGroups      []string `env:"ADMIN_GROUPS"`

	// Notifications (internal/notify): expiry warnings and token events. A webhook URL's path
	// is often its only credential (Slack, Teams), so the list is a secret: errors and the log
	// show each URL's scheme and host only. So is SMTP_URL, for its password.
	NotifyWebhookURLs   []string      `env:"NOTIFY_WEBHOOK_URLS" secret:"true"`
	NotifyWebhookSecret []byte        `env:"NOTIFY_WEBHOOK_SECRET" secret:"true"`
	NotifyCheckInterval time.Duration `env:"NOTIFY_CHECK_INTERVAL" envDefault:"1m" want:"a Go duration from 1s to 24h, such as \"1m\""`
	SMTPURL             string        `env:"SMTP_URL" secret:"true"`
	NotifyEmails        []string      `env:"NOTIFY_EMAILS"`
	NotifyEmailFrom     string        `env:"NOTIFY_EMAIL_FROM"`
	// SMTP is SMTP_URL read (nil without one), with NOTIFY_EMAIL_FROM or its default.
	SMTP *notify.SMTP

	// Tuning without environment variables: tests and benchmarks set them directly.
	RevocationPollInterval time.Duration // how often the revocation feed is read
}

// Production reports whether development defaults are forbidden.
func (c Config) Production() bool { return c.Env == EnvProduction }

// variable is one environment variable: the Config field it sets and its tags.
type variable struct {
	Name, Field, Default, Want string
	HasDefault, Secret         bool
}

// variables are Config's env-tagged fields, in order.
var variables = func() []variable {
	var vs []variable
	for f := range reflect.TypeFor[Config]().Fields() {
		if name, ok := f.Tag.Lookup("env"); ok {
			def, hasDef := f.Tag.Lookup("envDefault")
			vs = append(vs, variable{Name: name, Field: f.Name, Default: def, HasDefault: hasDef, Want: f.Tag.Get("want"), Secret: f.Tag.Get("secret") == "true"})
		}
	}
	return vs
}()

// parsers turn a variable's text into its field's type; a value that is empty after trimming
// takes the envDefault instead. Rules that depend on the variable, not the type, are in check.
var parsers = map[reflect.Type]env.ParserFunc{
	reflect.TypeFor[bool](): func(v string) (any, error) {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, errors.New("want true or false")
		}
		return b, nil
	},
	reflect.TypeFor[int](): func(v string) (any, error) { return strconv.Atoi(v) },
	// Go durations and whole days: the minimum is each variable's own (check).
	reflect.TypeFor[time.Duration](): func(v string) (any, error) { return parseSpan(v) },
	reflect.TypeFor[url.URL](): func(v string) (any, error) {
		u, err := url.Parse(strings.TrimRight(v, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, errors.New("want an absolute http(s) URL such as https://codemetrics.example.com")
		}
		return *u, nil
	},
	reflect.TypeFor[[]byte](): func(v string) (any, error) { return []byte(v), nil },
	reflect.TypeFor[[][]byte](): func(v string) (any, error) {
		var keys [][]byte
		for _, k := range strings.Split(v, ",") {
			keys = append(keys, []byte(strings.TrimSpace(k)))
		}
		return keys, nil
	},
	reflect.TypeFor[[]string](): func(v string) (any, error) { return splitList(v), nil },
}

// loader collects every error of one Load, so that one start-up reports them all.
type loader struct {
	vars   map[string]string // the values read, trimmed unless secret; only the non-empty ones
	failed map[string]bool   // variables already reported
	errs   []error
}

func (l *loader) fail(format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf(format, args...))
}

// require reports variable name, once, when ok is false: why is replaced by the want tag if it
// has one, and a secret's value is never repeated.
func (l *loader) require(name string, ok bool, why string) {
	if ok || l.failed[name] {
		return
	}
	l.failed[name] = true
	i := slices.IndexFunc(variables, func(v variable) bool { return v.Name == name })
	if v := variables[i]; v.Want != "" {
		why = "want " + v.Want
	}
	if variables[i].Secret {
		l.fail("%s: %s", name, why)
	} else {
		l.fail("%s=%q: %s", name, l.vars[name], why)
	}
}

// Load reads the configuration through getenv (os.Getenv in production, a map in tests).
// It does not touch the file system: call ResolveSigningKey for the SQLite key file.
func Load(getenv func(string) string) (Config, error) {
	// A non-nil map: with none the library would read the process environment.
	l := loader{vars: map[string]string{}, failed: map[string]bool{}}
	for _, v := range variables {
		s := getenv(v.Name)
		if !v.Secret {
			s = strings.TrimSpace(s)
		}
		if s != "" {
			l.vars[v.Name] = s
		}
	}
	c := Config{
		RevocationPollInterval: 250 * time.Millisecond,
	}
	if err := env.ParseWithOptions(&c, env.Options{Environment: l.vars, FuncMap: parsers}); err != nil {
		var all env.AggregateError
		if !errors.As(err, &all) {
			all.Errors = []error{err}
		}
		for _, err := range all.Errors {
			var pe env.ParseError
			if !errors.As(err, &pe) {
				l.fail("%v", err) // a field without a parser: a mistake in Config, not in the environment
				continue
			}
			i := slices.IndexFunc(variables, func(v variable) bool { return v.Field == pe.Name })
			l.require(variables[i].Name, false, pe.Err.Error())
		}
	}
	l.check(&c)
	if c.Production() {
		checkProduction(&c, l.fail) // production.go
	}
	if len(l.errs) > 0 {
		return Config{}, errors.Join(l.errs...)
	}
	if c.SigningKey != nil && c.CookieKey == nil {
		c.CookieKey = DeriveKey(c.SigningKey, "codemetrics cookie signing v1")
	}
	return c, nil
}

// check applies the rules a variable's type does not: ranges, requirements and how variables
// go together. Every message names the variable and says what to do.
func (l *loader) check(c *Config) {
	prod := c.Production()
	if c.Env != EnvDevelopment && c.Env != EnvProduction {
		l.fail("APP_ENV=%q: use %q or %q", c.Env, EnvDevelopment, EnvProduction)
	}
	if c.MetricsAddr == "off" {
		c.MetricsAddr = ""
	} else if c.MetricsAddr == c.HTTPAddr {
		l.fail("METRICS_ADDR must differ from HTTP_ADDR: metrics are never served on the public port (use \"off\" to turn them off)")
	}
	if prod && l.vars["PUBLIC_URL"] == "" {
		l.fail("PUBLIC_URL is required in production: the external https URL of CodeMetrics")
	}
	switch c.DatabaseDriver {
	case DriverSQLite:
		if prod && l.vars["DATABASE_DSN"] == "" {
			l.fail("DATABASE_DSN is required in production")
		}
	case DriverMySQL:
		if l.vars["DATABASE_DSN"] == "" {
			l.fail("DATABASE_DSN is required with DATABASE_DRIVER=mysql, e.g. user:pass@tcp(db:3306)/codemetrics")
		}
	default:
		l.fail("DATABASE_DRIVER=%q: use %q or %q", c.DatabaseDriver, DriverSQLite, DriverMySQL)
	}

	l.require("SERVICE_TOKEN_TTL", c.ServiceTokenTTL >= time.Minute, "must be at least one minute")
	l.require("SESSION_TTL", c.SessionTTL >= time.Minute, "must be at least one minute")
	l.require("SESSION_IDLE_TIMEOUT", c.SessionIdleTimeout >= time.Minute, "must be at least one minute")
	l.require("TOKEN_RECHECK_INTERVAL", !strings.HasSuffix(l.vars["TOKEN_RECHECK_INTERVAL"], "d") &&
		c.TokenRecheckInterval >= time.Second && c.TokenRecheckInterval <= 24*time.Hour, "")
	l.require("PIPELINE_RUN_RETENTION", l.vars["PIPELINE_RUN_RETENTION"] == "" || c.PipelineRunRetention >= 24*time.Hour, "")
	l.require("ROTATION_GRACE_PERIOD", c.RotationGracePeriod >= 0 && c.RotationGracePeriod <= 7*24*time.Hour, "")
	l.require("STALE_AFTER", c.StaleAfter >= 24*time.Hour, "")
	l.require("TOKEN_HISTORY_RETENTION", c.TokenHistoryRetention >= 24*time.Hour, "")
	l.require("REVOCATION_MAX_STALENESS", !strings.HasSuffix(l.vars["REVOCATION_MAX_STALENESS"], "d") &&
		c.RevocationMaxStaleness >= time.Second && c.RevocationMaxStaleness <= 5*time.Minute, "")
	l.require("TOKEN_CACHE_SIZE", c.TokenCacheSize >= 100 && c.TokenCacheSize <= 10_000_000, "")
	l.require("DATABASE_MAX_CONNECTIONS", c.DatabaseMaxConnections >= 2 && c.DatabaseMaxConnections <= 1000, "")
	l.require("USAGE_RETENTION", c.UsageRetention >= 24*time.Hour, "")
	l.require("USAGE_FLUSH_INTERVAL", !strings.HasSuffix(l.vars["USAGE_FLUSH_INTERVAL"], "d") &&
		c.UsageFlushInterval >= time.Second && c.UsageFlushInterval <= 10*time.Minute, "")
	l.require("RATE_LIMIT_PER_MINUTE", c.RateLimitPerMinute >= 0 && c.RateLimitPerMinute <= 1_000_000, "")
	l.require("AUTH_RATE_LIMIT_PER_MINUTE", c.AuthRateLimitPerMinute >= 0 && c.AuthRateLimitPerMinute <= 1_000_000, "")

	// A key too short is reported and dropped, so the production checks do not judge it again.
	if c.SigningKey != nil {
		if len(c.SigningKey) < MinKeyLength {
			l.fail("TOKEN_SIGNING_KEY is %d bytes long: it must be at least %d (try: openssl rand -base64 48)", len(c.SigningKey), MinKeyLength)
			c.SigningKey = nil
		} else {
			c.SigningKeySource = "environment"
		}
	} else if prod || c.DatabaseDriver == DriverMySQL {
		l.fail("TOKEN_SIGNING_KEY is required with %s: every replica must share one key (try: openssl rand -base64 48)",
			map[bool]string{true: "APP_ENV=production", false: "DATABASE_DRIVER=mysql"}[prod])
	}
	keys := c.PreviousSigningKeys
	c.PreviousSigningKeys = nil
	for i, key := range keys {
		if len(key) < MinKeyLength {
			l.fail("TOKEN_SIGNING_KEYS_PREVIOUS: key %d is %d bytes long: each must be at least %d", i+1, len(key), MinKeyLength)
		} else {
			c.PreviousSigningKeys = append(c.PreviousSigningKeys, key)
		}
	}
	if c.CookieKey != nil && len(c.CookieKey) < MinKeyLength {
		l.fail("COOKIE_SIGNING_KEY is %d bytes long: it must be at least %d", len(c.CookieKey), MinKeyLength)
		c.CookieKey = nil
	}

	for _, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				l.fail("TRUSTED_PROXIES: %q is neither an IP address nor a CIDR range", p)
			}
		}
	}
	c.OIDCIssuerURL = strings.TrimRight(c.OIDCIssuerURL, "/")
	c.OIDCScopes = strings.Fields(strings.Join(c.OIDCScopes, " "))
	if !slices.Contains(c.OIDCScopes, "openid") {
		l.fail("OIDC_SCOPES must include openid (and usually email and profile)")
	}
	// ASCII lower-casing only: strings.ToLower would make the Kelvin sign (U+212A) a "k".
	emails := c.AdminEmails
	c.AdminEmails = nil
	for _, e := range emails {
		if n, ok := names.Email(e); ok {
			c.AdminEmails = append(c.AdminEmails, n)
		} else {
			l.fail("ADMIN_EMAILS: %+q holds characters that are invisible or can pass for others (not in Unicode normal form): write the address in plain characters", e)
		}
	}
	if c.OIDCIssuerURL != "" || c.OIDCClientID != "" || c.OIDCClientSecret != "" || prod {
		var missing []string
		for name, v := range map[string]string{"OIDC_ISSUER_URL": c.OIDCIssuerURL, "OIDC_CLIENT_ID": c.OIDCClientID, "OIDC_CLIENT_SECRET": c.OIDCClientSecret} {
			if v == "" {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			l.fail("sign-in needs %s: set them from the client you registered with your identity provider", strings.Join(missing, ", "))
		}
		if u, err := url.Parse(c.OIDCIssuerURL); c.OIDCIssuerURL != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
			l.fail("OIDC_ISSUER_URL=%q: want the issuer's absolute URL, such as https://login.example.com/realms/main", c.OIDCIssuerURL)
		}
	}
	if prod && len(c.AdminEmails) == 0 && len(c.AdminGroups) == 0 {
		l.fail("set ADMIN_GROUPS or ADMIN_EMAILS in production: without them nobody can administer CodeMetrics")
	}
	l.checkNotify(c)
}

// checkNotify checks the notification variables. No message repeats a webhook URL (only its
// scheme and host), the webhook secret or SMTP_URL.
func (l *loader) checkNotify(c *Config) {
	l.require("NOTIFY_CHECK_INTERVAL", !strings.HasSuffix(l.vars["NOTIFY_CHECK_INTERVAL"], "d") &&
		c.NotifyCheckInterval >= time.Second && c.NotifyCheckInterval <= 24*time.Hour, "")
	for i, raw := range c.NotifyWebhookURLs {
		u, err := notify.ParseWebhookURL(raw)
		if err != nil {
			l.fail("NOTIFY_WEBHOOK_URLS: entry %d is %v", i+1, err)
			continue
		}
		if c.Production() && !c.AllowInsecureHTTP && u.Scheme == "http" && !notify.LoopbackHost(u.Hostname()) {
			l.fail("NOTIFY_WEBHOOK_URLS: entry %d (%s) is http in production: the signed payload and the URL's secret path would cross the network in clear; use https, or set ALLOW_INSECURE_HTTP=true if the network is private", i+1, notify.RedactURL(u))
		}
	}
	if secret := c.NotifyWebhookSecret; secret != nil {
		if len(secret) < MinKeyLength {
			l.fail("NOTIFY_WEBHOOK_SECRET is %d bytes long: it must be at least %d (try: openssl rand -hex 32)", len(secret), MinKeyLength)
		} else if why := weakKey(secret); c.Production() && why != "" {
			l.fail("NOTIFY_WEBHOOK_SECRET %s: anyone who guesses it can forge notifications; in production use a random secret (try: openssl rand -hex 32)", why)
		}
	} else if c.Production() && len(c.NotifyWebhookURLs) > 0 {
		l.fail("NOTIFY_WEBHOOK_SECRET is required in production with NOTIFY_WEBHOOK_URLS: receivers check the CodeMetrics-Signature of each request with it (try: openssl rand -hex 32)")
	}
	c.SMTPURL = strings.TrimSpace(c.SMTPURL)
	if c.SMTPURL != "" {
		smtp, err := notify.ParseSMTPURL(c.SMTPURL, c.AllowInsecureHTTP)
		if err != nil {
			l.fail("SMTP_URL: %v", err)
		} else {
			c.SMTP = smtp
		}
		if len(c.NotifyEmails) == 0 {
			l.fail("SMTP_URL is set but NOTIFY_EMAILS is empty: list the addresses that receive the notifications")
		}
	} else if len(c.NotifyEmails) > 0 {
		l.fail("NOTIFY_EMAILS is set but SMTP_URL is not: set the mail server, such as smtps://user:password@smtp.example.com:465")
	}
	for _, e := range c.NotifyEmails {
		if _, err := notify.ParseEmail(e); err != nil {
			l.fail("NOTIFY_EMAILS: %q is %v", e, err)
		}
	}
	from := c.NotifyEmailFrom
	if from == "" && c.PublicURL != nil {
		from = "codemetrics@" + c.PublicURL.Hostname()
	}
	if _, err := notify.ParseEmail(from); err != nil && c.SMTP != nil {
		l.fail("NOTIFY_EMAIL_FROM=%q: %v", from, err)
	}
	if c.SMTP != nil {
		c.SMTP.From = from
	}
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

// ParseDuration accepts Go durations ("8760h", "90m") and whole days ("365d"), of at least a
// minute.
func ParseDuration(s string) (time.Duration, error) {
	d, err := parseSpan(s)
	if err == nil && d < time.Minute {
		return 0, fmt.Errorf("must be at least one minute")
	}
	return d, err
}

// parseSpan accepts Go durations and whole days, of any length.
func parseSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 100*365 {
			return 0, fmt.Errorf("want a whole number of days from 1 to 36500 (\"365d\") or a Go duration (\"8760h\")")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a Go duration such as \"8760h\" or a number of days such as \"365d\"")
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

// redactDSN returns a DSN fit for the log: a SQLite file as it is, a MySQL DSN without its
// password.
func redactDSN(driver, dsn string) string {
	if driver != DriverMySQL {
		return dsn
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "(not a valid MySQL DSN)"
	}
	cfg.Passwd = ""
	return cfg.FormatDSN()
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
		slog.String("database_dsn", redactDSN(c.DatabaseDriver, c.DatabaseDSN)),
		slog.String("service_token_ttl", c.ServiceTokenTTL.String()),
		slog.String("token_recheck_interval", c.TokenRecheckInterval.String()),
		slog.String("token_issuer", c.TokenIssuer),
		slog.String("signing_key", c.SigningKeySource),
		slog.Int("previous_signing_keys", len(c.PreviousSigningKeys)),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.String("session_ttl", c.SessionTTL.String()),
		slog.String("session_idle_timeout", c.SessionIdleTimeout.String()),
		slog.String("pipeline_run_retention", c.PipelineRunRetention.String()),
		slog.String("rotation_grace_period", c.RotationGracePeriod.String()),
		slog.String("token_history_retention", c.TokenHistoryRetention.String()),
		slog.String("stale_after", c.StaleAfter.String()),
		slog.String("usage_retention", c.UsageRetention.String()),
		slog.String("revocation_max_staleness", c.RevocationMaxStaleness.String()),
		slog.Int("database_max_connections", c.DatabaseMaxConnections),
		slog.Int("token_cache_size", c.TokenCacheSize),
		slog.String("usage_flush_interval", c.UsageFlushInterval.String()),
		slog.Int("rate_limit_per_minute", c.RateLimitPerMinute),
		slog.Int("auth_rate_limit_per_minute", c.AuthRateLimitPerMinute),
		slog.String("oidc_issuer_url", c.OIDCIssuerURL),
		slog.String("oidc_client_id", c.OIDCClientID),
		slog.Bool("oidc_client_secret_set", c.OIDCClientSecret != ""),
		slog.String("oidc_groups_claim", c.OIDCGroupsClaim),
		slog.Any("oidc_scopes", c.OIDCScopes),
		slog.Any("admin_emails", c.AdminEmails),
		slog.Any("admin_groups", c.AdminGroups),
		slog.Any("notify_webhook_urls", redactURLs(c.NotifyWebhookURLs)),
		slog.Bool("notify_webhook_secret_set", c.NotifyWebhookSecret != nil),
		slog.String("notify_check_interval", c.NotifyCheckInterval.String()),
		slog.String("smtp_url", c.RedactedSMTP()),
		slog.Any("notify_emails", c.NotifyEmails),
		slog.String("notify_email_from", c.NotifyEmailFrom),
	)
}

// RedactedSMTP is the mail server without its password, "" when there is none.
func (c Config) RedactedSMTP() string {
	if c.SMTP == nil {
		return ""
	}
	return c.SMTP.Redacted()
}

// redactURLs shows each webhook URL by its scheme and host only.
func redactURLs(raw []string) []string {
	out := []string{}
	for _, r := range raw {
		if u, err := notify.ParseWebhookURL(r); err == nil {
			out = append(out, notify.RedactURL(u))
		}
	}
	return out
}
