package config

import (
	"strings"
	"testing"
	"time"
)

// TestNotificationSettings: the notification variables are read and checked, with messages
// that name the variable, never repeat a webhook's URL, the webhook secret or the SMTP
// password, and production refusing what would send in clear or unsigned.
func TestNotificationSettings(t *testing.T) {
	const (
		path     = "/services/T0/B0/s3cretPathZq8"
		password = "smtp-pa55-Wq7"
		secret   = "Hk7Pw2Nq9Xv4Lm1Zs8Rt5Yb3Jc6Gd0Fa-n0t1fy"
	)
	c, err := Load(envOf(map[string]string{
		"NOTIFY_WEBHOOK_URLS":   "https://hooks.example.com" + path + ", http://127.0.0.1:9000/hook",
		"NOTIFY_WEBHOOK_SECRET": secret, "NOTIFY_CHECK_INTERVAL": "30s",
		"SMTP_URL": "smtp://mailer:" + password + "@smtp.example.com", "NOTIFY_EMAILS": "ops@example.com, sre@example.com",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.NotifyWebhookURLs) != 2 || c.NotifyCheckInterval != 30*time.Second || strings.Join(c.NotifyEmails, ",") != "ops@example.com,sre@example.com" {
		t.Errorf("config = %q %v %q", c.NotifyWebhookURLs, c.NotifyCheckInterval, c.NotifyEmails)
	}
	if c.SMTP == nil || c.SMTP.Host != "smtp.example.com" || c.SMTP.Port != 587 || c.SMTP.ImplicitTLS || c.SMTP.StartTLSOptional ||
		c.SMTP.Username != "mailer" || c.SMTP.Password != password || c.SMTP.From != "codemetrics@localhost" {
		t.Errorf("SMTP = %+v, want smtp.example.com:587 with STARTTLS required, from codemetrics@<PUBLIC_URL host>", c.SMTP)
	}
	if d, _ := Load(envOf(nil)); d.NotifyCheckInterval != time.Minute || d.SMTP != nil || len(d.NotifyWebhookURLs) != 0 {
		t.Errorf("defaults: %v %+v %q, want 1m and nothing configured", d.NotifyCheckInterval, d.SMTP, d.NotifyWebhookURLs)
	}
	for in, want := range map[string]struct {
		port      int
		tls, optl bool
	}{
		"smtps://smtp.example.com":       {465, true, false},
		"smtps://smtp.example.com:2465":  {2465, true, false},
		"smtp://127.0.0.1:2525":          {2525, false, true}, // a relay on this machine: STARTTLS if offered
		"smtp://localhost":               {587, false, true},
		"smtp://u:p@[::1]:25":            {25, false, true},
		"smtp://relay.internal.example/": {587, false, false},
	} {
		c, err := Load(envOf(map[string]string{"SMTP_URL": in, "NOTIFY_EMAILS": "ops@example.com"}))
		if err != nil || c.SMTP.Port != want.port || c.SMTP.ImplicitTLS != want.tls || c.SMTP.StartTLSOptional != want.optl {
			t.Errorf("SMTP_URL=%s: %+v, %v; want %+v", in, c.SMTP, err, want)
		}
	}
	if c, err := Load(envOf(map[string]string{"SMTP_URL": "smtp://relay.internal.example", "NOTIFY_EMAILS": "ops@example.com", "ALLOW_INSECURE_HTTP": "true"})); err != nil || !c.SMTP.StartTLSOptional {
		t.Errorf("ALLOW_INSECURE_HTTP=true: STARTTLS optional = %v (%v), want true", c.SMTP, err)
	}

	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"not a URL", map[string]string{"NOTIFY_WEBHOOK_URLS": "hooks.example.com" + path}, "NOTIFY_WEBHOOK_URLS: entry 1 is not an absolute http(s) URL"},
		{"ftp", map[string]string{"NOTIFY_WEBHOOK_URLS": "https://ok.example.com/a, ftp://hooks.example.com" + path}, "NOTIFY_WEBHOOK_URLS: entry 2 is not an absolute http(s) URL"},
		{"fragment", map[string]string{"NOTIFY_WEBHOOK_URLS": "https://hooks.example.com" + path + "#x"}, "entry 1 is not an absolute http(s) URL without a #fragment"},
		{"short secret", map[string]string{"NOTIFY_WEBHOOK_SECRET": "s3cretPathZq8"}, "NOTIFY_WEBHOOK_SECRET is 13 bytes long: it must be at least 32"},
		{"interval", map[string]string{"NOTIFY_CHECK_INTERVAL": "0s"}, "NOTIFY_CHECK_INTERVAL=\"0s\": want a Go duration from 1s to 24h"},
		{"interval in days", map[string]string{"NOTIFY_CHECK_INTERVAL": "1d"}, "NOTIFY_CHECK_INTERVAL=\"1d\""},
		{"interval too long", map[string]string{"NOTIFY_CHECK_INTERVAL": "25h"}, "NOTIFY_CHECK_INTERVAL=\"25h\""},
		{"smtp without emails", map[string]string{"SMTP_URL": "smtps://mailer:" + password + "@smtp.example.com"}, "SMTP_URL is set but NOTIFY_EMAILS is empty"},
		{"emails without smtp", map[string]string{"NOTIFY_EMAILS": "ops@example.com"}, "NOTIFY_EMAILS is set but SMTP_URL is not"},
		{"smtp scheme", map[string]string{"SMTP_URL": "https://mailer:" + password + "@smtp.example.com", "NOTIFY_EMAILS": "ops@example.com"}, "SMTP_URL: want smtp://user:password@host:587"},
		{"smtp path", map[string]string{"SMTP_URL": "smtp://mailer:" + password + "@smtp.example.com/x?y=1", "NOTIFY_EMAILS": "ops@example.com"}, "SMTP_URL: want smtp://"},
		{"smtp port", map[string]string{"SMTP_URL": "smtp://mailer:" + password + "@smtp.example.com:99999", "NOTIFY_EMAILS": "ops@example.com"}, "SMTP_URL: the port must be a number from 1 to 65535"},
		{"bad email", map[string]string{"SMTP_URL": "smtps://smtp.example.com", "NOTIFY_EMAILS": "Ops <ops@example.com>"}, "NOTIFY_EMAILS: \"Ops <ops@example.com>\" is not a plain email address"},
		{"bad from", map[string]string{"SMTP_URL": "smtps://smtp.example.com", "NOTIFY_EMAILS": "ops@example.com", "NOTIFY_EMAIL_FROM": "codemetrics"}, "NOTIFY_EMAIL_FROM=\"codemetrics\": not a plain email address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(envOf(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			for _, s := range []string{path, password, secret} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the message repeats a secret (%q): %v", s, err)
				}
			}
		})
	}
}

// TestProductionNotificationSettings: production refuses webhooks in clear beyond this machine
// (unless ALLOW_INSECURE_HTTP=true), unsigned webhooks and a guessable webhook secret;
// development accepts the same.
func TestProductionNotificationSettings(t *testing.T) {
	const signing = "Hk7Pw2Nq9Xv4Lm1Zs8Rt5Yb3Jc6Gd0Fa-n0t1fy"
	for _, tc := range []struct {
		name   string
		change map[string]string
		want   string
	}{
		{"https webhook, signed", map[string]string{"NOTIFY_WEBHOOK_URLS": "https://hooks.example.com/s3cret", "NOTIFY_WEBHOOK_SECRET": signing}, ""},
		{"http webhook", map[string]string{"NOTIFY_WEBHOOK_URLS": "http://hooks.example.com/s3cret", "NOTIFY_WEBHOOK_SECRET": signing},
			"NOTIFY_WEBHOOK_URLS: entry 1 (http://hooks.example.com/…) is http in production"},
		{"http webhook, allowed", map[string]string{"NOTIFY_WEBHOOK_URLS": "http://hooks.internal/s3cret", "NOTIFY_WEBHOOK_SECRET": signing, "ALLOW_INSECURE_HTTP": "true"}, ""},
		{"http webhook on loopback", map[string]string{"NOTIFY_WEBHOOK_URLS": "http://127.0.0.1:9000/hook,http://[::1]/h,http://localhost/h", "NOTIFY_WEBHOOK_SECRET": signing}, ""},
		{"unsigned webhook", map[string]string{"NOTIFY_WEBHOOK_URLS": "https://hooks.example.com/s3cret"}, "NOTIFY_WEBHOOK_SECRET is required in production with NOTIFY_WEBHOOK_URLS"},
		{"guessable secret", map[string]string{"NOTIFY_WEBHOOK_URLS": "https://hooks.example.com/s3cret", "NOTIFY_WEBHOOK_SECRET": strings.Repeat("ab", 20)},
			"NOTIFY_WEBHOOK_SECRET has only 2 distinct characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := loadProduction(t, tc.change, tc.want)
			if sec := env["NOTIFY_WEBHOOK_SECRET"]; err != nil && (strings.Contains(err.Error(), "s3cret") || sec != "" && strings.Contains(err.Error(), sec)) {
				t.Errorf("the message repeats a secret: %v", err)
			}
			if tc.want != "" {
				env["APP_ENV"] = "development"
				if _, err := Load(envOf(env)); err != nil {
					t.Errorf("development refuses it too: %v", err)
				}
			}
		})
	}
}
