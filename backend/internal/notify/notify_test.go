package notify

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// TestNextAttempt: 30 s after the first failure, doubling to at most an hour, a last attempt at
// the end of the 24 hours, then none.
func TestNextAttempt(t *testing.T) {
	at, n := t0, 0
	var waits []time.Duration
	for {
		n++
		next, ok := NextAttempt(t0, at, n)
		if !ok {
			break
		}
		waits = append(waits, next.Sub(at))
		at = next
	}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour}
	for i, w := range want {
		if waits[i] != w {
			t.Fatalf("wait %d is %v, want %v (waits %v)", i+1, waits[i], w, waits)
		}
	}
	if !at.Equal(t0.Add(RetryWindow)) {
		t.Errorf("the last attempt is at %v, want the end of the window %v", at, t0.Add(RetryWindow))
	}
	if n != len(waits)+1 || n < 25 || n > 35 {
		t.Errorf("%d attempts in 24 hours", n)
	}
	if _, ok := NextAttempt(t0, t0.Add(25*time.Hour), 3); ok {
		t.Error("a failure after the window is retried")
	}
}

// TestTextIsSafeInChat: what people wrote cannot notify a channel or become a Slack command,
// and reads back as written in an email.
func TestTextIsSafeInChat(t *testing.T) {
	ev := Event{Kind: TokenRevoked, TokenID: "abc", Subject: "<!channel> & @here", ServiceUser: "<!channel> & @here",
		Actor: "admin@example.com", Reason: "@all <https://evil.example|click>", Expires: t0.Add(48 * time.Hour), CreatedAt: t0}
	_, chat := describe(ev, t0, "https://cm.example.com/", chatText)
	for _, bad := range []string{"<!channel>", "@here", "@all", "<https://evil"} {
		if strings.Contains(chat, bad) {
			t.Errorf("chat text holds %q: %s", bad, chat)
		}
	}
	if !strings.Contains(chat, "&lt;!channel&gt; &amp; @\u2060here") || !strings.Contains(chat, "revoked by admin@\u2060example.com") {
		t.Errorf("chat text = %q", chat)
	}
	title, mail := describe(ev, t0, "https://cm.example.com/", plainText)
	if !strings.Contains(mail, "“<!channel> & @here” (id abc)") || !strings.Contains(mail, "Reason: “@all <https://evil.example|click>”") ||
		title != "CodeMetrics: service token “<!channel> & @here” was revoked" {
		t.Errorf("email: %q, %q", title, mail)
	}
}

// TestTexts: each event reads as what happened, with the days left rounded up.
func TestTexts(t *testing.T) {
	exp := t0.Add(7 * 24 * time.Hour)
	for _, tc := range []struct {
		ev   Event
		now  time.Time
		want string
		days int
	}{
		{Event{Kind: TokenExpiring, ThresholdDays: 7}, t0, "⚠️ CodeMetrics: the service token “ci” (id T1) expires in 7 days, on 2026-03-08 09:00 UTC. Rotate it before then: https://cm.example.com/admin/service-tokens", 7},
		{Event{Kind: TokenExpiring, ThresholdDays: 7}, t0.Add(12 * time.Hour), "expires in 7 days", 7},
		{Event{Kind: TokenExpiring, ThresholdDays: 1}, exp.Add(-time.Hour), "expires in 1 day,", 1},
		{Event{Kind: TokenExpired}, exp.Add(time.Minute), "expired on 2026-03-08 09:00 UTC: calls with it are refused", 0},
		{Event{Kind: TokenRevoked, Actor: "cli:ops"}, t0, "was revoked by cli:ops on 2026-03-01 09:00 UTC: calls with it are refused.", 0},
		{Event{Kind: TokenRotated, Actor: "ops"}, t0, "was rotated by ops: its old value keeps working until 2026-03-08 09:00 UTC", 7},
		{Event{Kind: TokenGraceEnded}, exp, "the grace period of the service token “ci” (id T1) ended on 2026-03-08 09:00 UTC", 0},
		{Event{Kind: TokenExpiring, ServiceUser: "billing"}, t0, "the service token “ci” (id T1) of the service user “billing” expires", 7},
	} {
		ev := tc.ev
		ev.TokenID, ev.Subject, ev.Expires, ev.CreatedAt = "T1", "ci", exp, t0
		if ev.ServiceUser == "" {
			ev.ServiceUser = "ci"
		}
		_, text := describe(ev, tc.now, "https://cm.example.com", chatText)
		if !strings.Contains(text, tc.want) {
			t.Errorf("%s: %q, want it to contain %q", ev.Kind, text, tc.want)
		}
		if got := DaysLeft(ev, tc.now); got != tc.days {
			t.Errorf("%s at %v: daysLeft %d, want %d", ev.Kind, tc.now, got, tc.days)
		}
	}
}

// TestScrubber: a stored error holds no secret, stays on one line and is cut to length.
func TestScrubber(t *testing.T) {
	url := "https://hooks.example.com/services/T0/B0/s3cretPath?key=k3y"
	scrub := scrubber([]string{url, "/services/T0/B0/s3cretPath?key=k3y", "/services/T0/B0/s3cretPath", "key=k3y", "whsec-0123456789", ""})
	got := scrub("Post \"" + url + "\": the receiver answered HTTP 500: bad signature for whsec-0123456789 at /services/T0/B0/s3cretPath\nline2\x00\u202e")
	for _, s := range []string{"s3cretPath", "k3y", "whsec", "\n", "\x00", "\u202e"} {
		if strings.Contains(got, s) {
			t.Errorf("scrubbed error holds %q: %q", s, got)
		}
	}
	if got != "Post \"…\": the receiver answered HTTP 500: bad signature for … at … line2" {
		t.Errorf("scrubbed = %q", got)
	}
	long := scrub(strings.Repeat("é", 1000))
	if n := len([]rune(long)); n != MaxErrorLength || !strings.HasSuffix(long, "…") {
		t.Errorf("a long error keeps %d characters, want %d ending in …", n, MaxErrorLength)
	}
}

// TestRedactURL: scheme and host only.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T0/B0/XYZ": "https://hooks.slack.com/…",
		"https://user:pw@example.com:8443/":          "https://example.com:8443",
		"http://127.0.0.1:9000?token=abc":            "http://127.0.0.1:9000/…",
		"https://example.com":                        "https://example.com",
	} {
		u, err := ParseWebhookURL(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := RedactURL(u); got != want {
			t.Errorf("RedactURL(%s) = %s, want %s", in, got, want)
		}
	}
}
