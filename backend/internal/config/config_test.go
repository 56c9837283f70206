package config

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Env != EnvDevelopment || c.HTTPAddr != ":8080" || c.PublicURL.String() != "http://localhost:8080" ||
		c.DatabaseDriver != DriverSQLite || c.DatabaseDSN != "data/codemetrics.db" ||
		c.ServiceTokenTTL != 365*24*time.Hour || c.TokenIssuer != "codemetrics" || c.SessionTTL != 8*time.Hour || c.SessionIdleTimeout != time.Hour {
		t.Errorf("defaults = %+v", c)
	}
	if c.SigningKey != nil {
		t.Error("no key should be set before ResolveSigningKey")
	}
}

func TestServiceTokenTTL(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"720h": 30 * 24 * time.Hour, "30d": 30 * 24 * time.Hour, "365d": 365 * 24 * time.Hour, "8760h": 8760 * time.Hour, "90m": 90 * time.Minute,
	} {
		c, err := Load(envOf(map[string]string{"SERVICE_TOKEN_TTL": in}))
		if err != nil || c.ServiceTokenTTL != want {
			t.Errorf("SERVICE_TOKEN_TTL=%s: %v, %v; want %v", in, c.ServiceTokenTTL, err, want)
		}
	}
	for _, bad := range []string{"1y", "abc", "-5h", "0", "0d", "30 days", "1.5d", "10s", "99999999d"} {
		_, err := Load(envOf(map[string]string{"SERVICE_TOKEN_TTL": bad}))
		if err == nil || !strings.Contains(err.Error(), "SERVICE_TOKEN_TTL") {
			t.Errorf("SERVICE_TOKEN_TTL=%q: err = %v, want one naming the variable", bad, err)
		}
	}
}

func TestTokenRecheckInterval(t *testing.T) {
	c, err := Load(envOf(nil))
	if err != nil || c.TokenRecheckInterval != 5*time.Minute {
		t.Errorf("default TOKEN_RECHECK_INTERVAL = %v, %v; want 5m", c.TokenRecheckInterval, err)
	}
	if !strings.Contains(c.LogValue().String(), "token_recheck_interval=5m0s") {
		t.Errorf("the logged configuration lacks the re-check interval: %s", c.LogValue())
	}
	for in, want := range map[string]time.Duration{"30s": 30 * time.Second, "1s": time.Second, "15m": 15 * time.Minute, "24h": 24 * time.Hour} {
		c, err := Load(envOf(map[string]string{"TOKEN_RECHECK_INTERVAL": in}))
		if err != nil || c.TokenRecheckInterval != want {
			t.Errorf("TOKEN_RECHECK_INTERVAL=%s: %v, %v; want %v", in, c.TokenRecheckInterval, err, want)
		}
	}
	for _, bad := range []string{"5", "abc", "-5m", "0", "0s", "500ms", "25h", "1d"} {
		_, err := Load(envOf(map[string]string{"TOKEN_RECHECK_INTERVAL": bad}))
		if err == nil || !strings.Contains(err.Error(), "TOKEN_RECHECK_INTERVAL") {
			t.Errorf("TOKEN_RECHECK_INTERVAL=%q: err = %v, want one naming the variable", bad, err)
		}
	}
}

func TestStartupErrorsSayWhatToDo(t *testing.T) {
	cases := map[string]struct {
		env  map[string]string
		want string
	}{
		"short key":                        {map[string]string{"TOKEN_SIGNING_KEY": "short"}, "at least 32"},
		"mysql without key":                {map[string]string{"DATABASE_DRIVER": "mysql", "DATABASE_DSN": "u@tcp(db)/x"}, "TOKEN_SIGNING_KEY is required"},
		"mysql without dsn":                {map[string]string{"DATABASE_DRIVER": "mysql", "TOKEN_SIGNING_KEY": strings.Repeat("k", 32)}, "DATABASE_DSN is required"},
		"unknown driver":                   {map[string]string{"DATABASE_DRIVER": "postgres"}, "DATABASE_DRIVER"},
		"production without key":           {map[string]string{"APP_ENV": "production", "PUBLIC_URL": "https://cm.example.com", "DATABASE_DSN": "/var/lib/cm.db"}, "TOKEN_SIGNING_KEY is required"},
		"production without url":           {map[string]string{"APP_ENV": "production", "TOKEN_SIGNING_KEY": strings.Repeat("k", 32), "DATABASE_DSN": "/x.db"}, "PUBLIC_URL is required"},
		"production without dsn":           {map[string]string{"APP_ENV": "production", "TOKEN_SIGNING_KEY": strings.Repeat("k", 32), "PUBLIC_URL": "https://x"}, "DATABASE_DSN is required"},
		"bad env":                          {map[string]string{"APP_ENV": "prod"}, "APP_ENV"},
		"bad public url":                   {map[string]string{"PUBLIC_URL": "ftp://x"}, "PUBLIC_URL"},
		"bad trusted proxy":                {map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, not-an-ip"}, "TRUSTED_PROXIES"},
		"bad session ttl":                  {map[string]string{"SESSION_TTL": "forever"}, "SESSION_TTL"},
		"bad session idle timeout":         {map[string]string{"SESSION_IDLE_TIMEOUT": "10s"}, "SESSION_IDLE_TIMEOUT"},
		"Kelvin sign in ADMIN_EMAILS":      {map[string]string{"ADMIN_EMAILS": "boss@example.com, \u212Aim@example.com"}, "ADMIN_EMAILS"},
		"zero-width space in ADMIN_EMAILS": {map[string]string{"ADMIN_EMAILS": "kim@example.com\u200B"}, "ADMIN_EMAILS"},
		"short cookie signing key":         {map[string]string{"COOKIE_SIGNING_KEY": "x"}, "COOKIE_SIGNING_KEY"},
		"metrics on the public port":       {map[string]string{"HTTP_ADDR": ":8080", "METRICS_ADDR": ":8080"}, "METRICS_ADDR must differ"},
		"bad rate limit":                   {map[string]string{"RATE_LIMIT_PER_MINUTE": "lots"}, "RATE_LIMIT_PER_MINUTE"},
		"short previous key":               {map[string]string{"TOKEN_SIGNING_KEYS_PREVIOUS": "old"}, "TOKEN_SIGNING_KEYS_PREVIOUS"},
		"half an OIDC client":              {map[string]string{"OIDC_ISSUER_URL": "https://idp.example"}, "OIDC_CLIENT_ID, OIDC_CLIENT_SECRET"},
		"bad OIDC issuer":                  {map[string]string{"OIDC_ISSUER_URL": "idp.example", "OIDC_CLIENT_ID": "a", "OIDC_CLIENT_SECRET": "b"}, "OIDC_ISSUER_URL"},
		"OIDC scopes without openid":       {map[string]string{"OIDC_SCOPES": "email profile"}, "OIDC_SCOPES must include openid"},
		"production without OIDC":          {map[string]string{"APP_ENV": "production", "PUBLIC_URL": "https://x", "DATABASE_DSN": "/x.db", "TOKEN_SIGNING_KEY": strings.Repeat("k", 32), "ADMIN_GROUPS": "a"}, "OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_ISSUER_URL"},
		"production with a blank dsn":      {map[string]string{"APP_ENV": "production", "TOKEN_SIGNING_KEY": strings.Repeat("k", 32), "PUBLIC_URL": "https://x", "DATABASE_DSN": "  "}, "DATABASE_DSN is required"},
		"production without admins":        {map[string]string{"APP_ENV": "production", "PUBLIC_URL": "https://x", "DATABASE_DSN": "/x.db", "TOKEN_SIGNING_KEY": strings.Repeat("k", 32), "OIDC_ISSUER_URL": "https://i", "OIDC_CLIENT_ID": "a", "OIDC_CLIENT_SECRET": "b"}, "ADMIN_GROUPS or ADMIN_EMAILS"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(envOf(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			for _, v := range tc.env {
				if len(v) >= 32 && strings.Contains(err.Error(), v) {
					t.Errorf("error message repeats a secret: %v", err)
				}
			}
		})
	}
}

func TestProductionAcceptsCompleteConfig(t *testing.T) {
	c, err := Load(envOf(map[string]string{
		"APP_ENV": "production", "PUBLIC_URL": "https://cm.example.com/", "DATABASE_DRIVER": "mysql",
		"DATABASE_DSN": "cm:pw@tcp(db:3306)/cm", "TOKEN_SIGNING_KEY": randomKey,
		"TRUSTED_PROXIES": "10.0.0.0/8,192.168.1.10",
		"OIDC_ISSUER_URL": "https://login.example.com/realms/main/", "OIDC_CLIENT_ID": "codemetrics",
		"OIDC_CLIENT_SECRET": "s3cret", "ADMIN_GROUPS": "platform, sre", "ADMIN_EMAILS": "Boss@Example.com",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicURL.String() != "https://cm.example.com" || len(c.TrustedProxies) != 2 {
		t.Errorf("config = %+v", c)
	}
	if c.OIDCIssuerURL != "https://login.example.com/realms/main" || c.OIDCGroupsClaim != "groups" ||
		strings.Join(c.AdminGroups, "|") != "platform|sre" || strings.Join(c.AdminEmails, "|") != "boss@example.com" {
		t.Errorf("OIDC config = %q %q %q %q", c.OIDCIssuerURL, c.OIDCGroupsClaim, c.AdminGroups, c.AdminEmails)
	}
	if strings.Contains(c.LogValue().String(), "s3cret") {
		t.Error("the logged configuration shows the client secret")
	}
	if string(c.CookieKey) == string(c.SigningKey) || len(c.CookieKey) != 32 {
		t.Error("the cookie key must be derived from, not equal to, the signing key")
	}
}

func TestGeneratedKeyIsKeptBesideTheDatabase(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(envOf(map[string]string{"DATABASE_DSN": filepath.Join(dir, "sub", "cm.db")}))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := ResolveSigningKey(&c, log); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "sub", "cm.db.signing-key")
	st, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	if len(c.SigningKey) < MinKeyLength {
		t.Errorf("generated key is %d bytes", len(c.SigningKey))
	}
	// A restart reads the same key back, so tokens survive it.
	c2, _ := Load(envOf(map[string]string{"DATABASE_DSN": filepath.Join(dir, "sub", "cm.db")}))
	if err := ResolveSigningKey(&c2, log); err != nil {
		t.Fatal(err)
	}
	if string(c2.SigningKey) != string(c.SigningKey) {
		t.Error("the key changed across restarts")
	}
	if c.LogValue().String() == "" || strings.Contains(c.LogValue().String(), string(c.SigningKey)) {
		t.Error("the logged configuration shows the signing key")
	}
}

func TestSessionIdleTimeoutAndAdminEmails(t *testing.T) {
	c, err := Load(envOf(map[string]string{"SESSION_IDLE_TIMEOUT": "15m", "ADMIN_EMAILS": "Boss@Example.COM, kim@example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionIdleTimeout != 15*time.Minute {
		t.Errorf("SessionIdleTimeout = %v", c.SessionIdleTimeout)
	}
	if strings.Join(c.AdminEmails, ",") != "boss@example.com,kim@example.com" {
		t.Errorf("AdminEmails = %q", c.AdminEmails)
	}
}

// randomKey is what openssl rand -base64 48 prints: a key production accepts.
const randomKey = "q7Xv2LmT9pR4sWc8ZkYb1NfHd6JgAeU3oQiV5tMzEyCnOrKl0BxGuIwSjPhDaF+/"

// prodEnv is a complete production configuration; each case changes one thing.
func prodEnv(change map[string]string) map[string]string {
	env := map[string]string{
		"APP_ENV": "production", "PUBLIC_URL": "https://cm.example.com", "DATABASE_DRIVER": "mysql",
		"DATABASE_DSN": "cm:pw@tcp(db:3306)/cm", "TOKEN_SIGNING_KEY": randomKey,
		"OIDC_ISSUER_URL": "https://login.example.com", "OIDC_CLIENT_ID": "codemetrics", "OIDC_CLIENT_SECRET": "s3cret",
		"ADMIN_GROUPS": "platform",
	}
	for k, v := range change {
		env[k] = v
	}
	return env
}

// loadProduction loads prodEnv(change) and fails the test unless production accepts it (want
// "") or refuses it with a message containing want; it returns the environment and the error.
func loadProduction(t *testing.T, change map[string]string, want string) (map[string]string, error) {
	t.Helper()
	env := prodEnv(change)
	_, err := Load(envOf(env))
	switch {
	case want == "" && err != nil:
		t.Fatalf("refused: %v", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
	return env, err
}

// TestProductionRefusesWhatIsUnsafe: APP_ENV=production refuses a configuration that would run
// but be unsafe, naming the variable and saying what to do; development accepts the same
// values, and the explicit opt-ins are respected.
func TestProductionRefusesWhatIsUnsafe(t *testing.T) {
	hexKey := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	for _, tc := range []struct {
		name   string
		change map[string]string
		want   string // "" when production accepts it
	}{
		{"complete", nil, ""},
		{"http PUBLIC_URL", map[string]string{"PUBLIC_URL": "http://cm.example.com"}, "PUBLIC_URL=\"http://cm.example.com\" is http in production"},
		{"http PUBLIC_URL, allowed", map[string]string{"PUBLIC_URL": "http://cm.internal", "ALLOW_INSECURE_HTTP": "true"}, ""},
		{"http OIDC_ISSUER_URL", map[string]string{"OIDC_ISSUER_URL": "http://login.example.com"}, "OIDC_ISSUER_URL=\"http://login.example.com\" is http in production"},
		{"http OIDC_ISSUER_URL, allowed", map[string]string{"OIDC_ISSUER_URL": "http://idp.internal", "ALLOW_INSECURE_HTTP": "true"}, ""},
		{"bad ALLOW_INSECURE_HTTP", map[string]string{"ALLOW_INSECURE_HTTP": "sure"}, "ALLOW_INSECURE_HTTP=\"sure\": want true or false"},
		{"repeated key", map[string]string{"TOKEN_SIGNING_KEY": strings.Repeat("k", 48)}, "TOKEN_SIGNING_KEY has only 1 distinct characters"},
		{"low-diversity key", map[string]string{"TOKEN_SIGNING_KEY": strings.Repeat("abc123", 8)}, "TOKEN_SIGNING_KEY has only 6 distinct characters"},
		{"sequential key", map[string]string{"TOKEN_SIGNING_KEY": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"}, "TOKEN_SIGNING_KEY is mostly a run of neighbouring characters"},
		{"docker-compose development key", map[string]string{"TOKEN_SIGNING_KEY": "development-only-signing-key-never-use-in-production"}, "TOKEN_SIGNING_KEY is a key published in CodeMetrics' own files"},
		{"placeholder key", map[string]string{"TOKEN_SIGNING_KEY": "please-changeme-before-going-live-with-this"}, "TOKEN_SIGNING_KEY reads like a placeholder"},
		{"low-entropy key", map[string]string{"TOKEN_SIGNING_KEY": strings.Repeat("ax", 12) + "qwertyui"}, "TOKEN_SIGNING_KEY has too little variety"},
		{"hex key (openssl rand -hex 32)", map[string]string{"TOKEN_SIGNING_KEY": hexKey}, ""},
		{"weak previous key", map[string]string{"TOKEN_SIGNING_KEYS_PREVIOUS": hexKey + "," + strings.Repeat("x", 40)}, "TOKEN_SIGNING_KEYS_PREVIOUS: key 2 has only 1 distinct characters"},
		{"weak cookie key", map[string]string{"COOKIE_SIGNING_KEY": strings.Repeat("ab", 20)}, "COOKIE_SIGNING_KEY has only 2 distinct characters"},
		{"trust every IPv4 proxy", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, 0.0.0.0/0"}, "TRUSTED_PROXIES contains 0.0.0.0/0, which trusts every address"},
		{"trust every IPv6 proxy", map[string]string{"TRUSTED_PROXIES": "::/0"}, "TRUSTED_PROXIES contains ::/0"},
		{"service tokens for three years", map[string]string{"SERVICE_TOKEN_TTL": "1095d"}, "SERVICE_TOKEN_TTL=26280h0m0s is longer than the production cap of 730d"},
		{"service tokens for two years", map[string]string{"SERVICE_TOKEN_TTL": "730d"}, ""},
		{"week-long sessions", map[string]string{"SESSION_TTL": "168h"}, "SESSION_TTL=168h0m0s is longer than the production cap of 24h"},
		{"day-long sessions", map[string]string{"SESSION_TTL": "24h"}, ""},
		{"metrics on every interface", map[string]string{"METRICS_ADDR": ":9090"}, "METRICS_ADDR=\":9090\" listens beyond this host in production"},
		{"metrics on 0.0.0.0", map[string]string{"METRICS_ADDR": "0.0.0.0:9090"}, "METRICS_ADDR=\"0.0.0.0:9090\" listens beyond this host"},
		{"metrics on a LAN address", map[string]string{"METRICS_ADDR": "10.1.2.3:9090"}, "METRICS_ADDR=\"10.1.2.3:9090\" listens beyond this host"},
		{"metrics public, said so", map[string]string{"METRICS_ADDR": ":9090", "METRICS_PUBLIC": "true"}, ""},
		{"metrics on loopback", map[string]string{"METRICS_ADDR": "[::1]:9090"}, ""},
		{"metrics on localhost", map[string]string{"METRICS_ADDR": "localhost:9090"}, ""},
		{"metrics off", map[string]string{"METRICS_ADDR": "off"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := loadProduction(t, tc.change, tc.want)
			for k, v := range tc.change {
				if err != nil && strings.HasSuffix(k, "KEY") && strings.Contains(err.Error(), v) {
					t.Errorf("the message repeats the key: %v", err)
				}
			}
			if tc.want != "" && !strings.Contains(tc.want, "ALLOW_INSECURE_HTTP") {
				env["APP_ENV"] = "development"
				if _, err := Load(envOf(env)); err != nil {
					t.Errorf("development refuses it too: %v", err)
				}
			}
		})
	}
}

// TestREADMEConfigurationTable: README.md's configuration table lists exactly the variables
// Config reads (its env tags), and its default column agrees with their envDefault tags. The
// rule for defaults: a cell that is one value in backticks (`8h`) is the envDefault, verbatim;
// any other cell ("generated", "none", "—") says the variable has no envDefault.
func TestREADMEConfigurationTable(t *testing.T) {
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Configuration\n")
	if !ok {
		t.Fatal(`README.md has no "## Configuration" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	code := map[string]variable{}
	for _, v := range variables {
		code[v.Name] = v
	}
	backticked := regexp.MustCompile("^`([^`]*)`$")
	documented := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !backticked.MatchString(strings.TrimSpace(cells[1])) {
			continue // not a row of the table (or its header)
		}
		name := backticked.FindStringSubmatch(strings.TrimSpace(cells[1]))[1]
		documented[name] = true
		v, ok := code[name]
		if !ok {
			t.Errorf("README.md documents %s, which Config does not read: drop the row or add the field", name)
			continue
		}
		cell := strings.TrimSpace(cells[2])
		if m := backticked.FindStringSubmatch(cell); m != nil {
			if !v.HasDefault || v.Default != m[1] {
				t.Errorf("README.md gives %s the default %s; its envDefault tag is %q (present: %v)", name, cell, v.Default, v.HasDefault)
			}
		} else if v.HasDefault {
			t.Errorf("README.md gives %s the default %q; write its envDefault `%s` in backticks", name, cell, v.Default)
		}
	}
	for _, v := range variables {
		if !documented[v.Name] {
			t.Errorf("Config reads %s (field %s), which README.md's configuration table does not document", v.Name, v.Field)
		}
	}
	if len(documented) == 0 {
		t.Fatal("found no rows in README.md's configuration table")
	}
}

// secretValues give each secret a value no other variable has; randomKey passes production.
var secretValues = map[string]string{
	"TOKEN_SIGNING_KEY":           randomKey,
	"TOKEN_SIGNING_KEYS_PREVIOUS": "Zr8Kq2Wm5Xt9Vb3Nc7Lp1Hd4Jf6Gs0Ya-pr3v10us",
	"COOKIE_SIGNING_KEY":          "Mn4Bv7Cx1Zl8Kj2Hg5Fd9Sa3Qw6Er0Ty-c00k13",
	"OIDC_CLIENT_SECRET":          "client-s3cret-Pq8Wn2Lx",
	"NOTIFY_WEBHOOK_URLS":         "https://hooks.example.com/services/T0/B0/w3bh00kPathQx9",
	"NOTIFY_WEBHOOK_SECRET":       "Hk7Pw2Nq9Xv4Lm1Zs8Rt5Yb3Jc6Gd0Fa-n0t1fy",
	"SMTP_URL":                    "smtps://mailer:smtp-pa55word-Vq4@smtp.example.com:465",
}

// TestLogValueShowsEveryVariableButSecrets: the logged configuration has an attribute for every
// variable that is not secret (its name in lower case; APP_ENV's is env), and shows no secret's
// value, nor the password of a MySQL DSN.
func TestLogValueShowsEveryVariableButSecrets(t *testing.T) {
	env := prodEnv(map[string]string{"DATABASE_DSN": "cm:dsn-pa55word@tcp(db:3306)/cm", "NOTIFY_EMAILS": "ops@example.com"})
	for k, v := range secretValues {
		env[k] = v
	}
	c, err := Load(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	logged := map[string]string{}
	for _, a := range c.LogValue().Group() {
		logged[a.Key] = a.Value.String()
	}
	for _, v := range variables {
		if v.Secret {
			if _, ok := secretValues[v.Name]; !ok {
				t.Errorf("secret %s has no value in secretValues: add one, so the test checks it is not logged", v.Name)
			}
			continue
		}
		key := strings.ToLower(v.Name)
		if v.Name == "APP_ENV" {
			key = "env"
		}
		if _, ok := logged[key]; !ok {
			t.Errorf("LogValue has no %q for %s: add it (or mark the field secret)", key, v.Name)
		}
	}
	all := c.LogValue().String()
	for name, v := range secretValues {
		if strings.Contains(all, v) {
			t.Errorf("the logged configuration shows %s", name)
		}
	}
	for _, part := range []string{"w3bh00kPathQx9", "smtp-pa55word-Vq4"} {
		if strings.Contains(all, part) {
			t.Errorf("the logged configuration shows %q (a webhook's path or the SMTP password)", part)
		}
	}
	if logged["notify_webhook_urls"] != "[https://hooks.example.com/…]" || logged["smtp_url"] != "smtps://mailer@smtp.example.com:465" {
		t.Errorf("notify_webhook_urls = %q, smtp_url = %q; want the webhook's scheme and host and the mail server without its password", logged["notify_webhook_urls"], logged["smtp_url"])
	}
	if strings.Contains(all, "dsn-pa55word") || !strings.Contains(logged["database_dsn"], "tcp(db:3306)/cm") {
		t.Errorf("database_dsn = %q, want the DSN without its password", logged["database_dsn"])
	}
	if logged["signing_key"] != "environment" || logged["oidc_client_secret_set"] != "true" {
		t.Errorf("signing_key = %q, oidc_client_secret_set = %q; want where the key came from and that the secret is set", logged["signing_key"], logged["oidc_client_secret_set"])
	}
}

// TestLoadReadsOnlyGetenv: Load sees the variables through getenv alone, never the process
// environment, so a test's map is the whole configuration; secrets are taken byte for byte and
// other values trimmed.
func TestLoadReadsOnlyGetenv(t *testing.T) {
	t.Setenv("HTTP_ADDR", ":1234")
	t.Setenv("SESSION_TTL", "2h")
	key := " " + randomKey + " "
	c, err := Load(envOf(map[string]string{"TOKEN_SIGNING_KEY": key, "TOKEN_ISSUER": "  cm  ", "OIDC_SCOPES": "openid, email  profile"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.SessionTTL != 8*time.Hour {
		t.Errorf("HTTPAddr %q, SessionTTL %v: Load read the process environment", c.HTTPAddr, c.SessionTTL)
	}
	if string(c.SigningKey) != key || c.TokenIssuer != "cm" || strings.Join(c.OIDCScopes, "|") != "openid|email|profile" {
		t.Errorf("SigningKey %q, TokenIssuer %q, OIDCScopes %q", c.SigningKey, c.TokenIssuer, c.OIDCScopes)
	}
}

// TestTokenLifecycleSettings: ROTATION_GRACE_PERIOD (0s to 7d) and TOKEN_HISTORY_RETENTION (at
// least a day) take Go durations and days, with their defaults; out of range they say what to set.
func TestTokenLifecycleSettings(t *testing.T) {
	load := func(env map[string]string) (Config, error) { return Load(func(k string) string { return env[k] }) }
	c, err := load(map[string]string{})
	if err != nil || c.RotationGracePeriod != 24*time.Hour || c.TokenHistoryRetention != 400*24*time.Hour {
		t.Fatalf("defaults: %v %v %v", c.RotationGracePeriod, c.TokenHistoryRetention, err)
	}
	c, err = load(map[string]string{"ROTATION_GRACE_PERIOD": "0s", "TOKEN_HISTORY_RETENTION": "30d"})
	if err != nil || c.RotationGracePeriod != 0 || c.TokenHistoryRetention != 30*24*time.Hour {
		t.Fatalf("set: %v %v %v", c.RotationGracePeriod, c.TokenHistoryRetention, err)
	}
	if c, err = load(map[string]string{"ROTATION_GRACE_PERIOD": "7d"}); err != nil || c.RotationGracePeriod != 7*24*time.Hour {
		t.Errorf("7d: %v %v", c.RotationGracePeriod, err)
	}
	for _, bad := range []map[string]string{
		{"ROTATION_GRACE_PERIOD": "8d"}, {"ROTATION_GRACE_PERIOD": "-1h"}, {"ROTATION_GRACE_PERIOD": "soon"},
		{"TOKEN_HISTORY_RETENTION": "23h"}, {"TOKEN_HISTORY_RETENTION": "0s"},
	} {
		_, err := load(bad)
		for k := range bad {
			if err == nil || !strings.Contains(err.Error(), k+"=") || !strings.Contains(err.Error(), "want a Go duration") {
				t.Errorf("%v: %v", bad, err)
			}
		}
	}
}
