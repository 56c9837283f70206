package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
)

// Destination is somewhere events are sent: a webhook or an email address.
type Destination struct {
	Target
	send func(ctx context.Context, d Delivery, now time.Time) error
}

// Headers of a webhook request.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
	SignatureHeader = "CodeMetrics-Signature"
	// DeliveryHeader carries the delivery's id: the same on every retry of one delivery.
	DeliveryHeader = "CodeMetrics-Delivery"
	// EventHeader carries the event, as the body's "event" does.
	EventHeader = "CodeMetrics-Event"
)

// Sign returns the CodeMetrics-Signature value of body sent at t: the receiver recomputes the
// HMAC-SHA256 of "<t>.<body>" with the shared secret, compares it in constant time, and
// refuses a t far from its own clock (a replayed request).
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Payload is the JSON body of a webhook request.
type Payload struct {
	Event       string `json:"event"`
	TokenID     string `json:"tokenId"`
	Subject     string `json:"subject"`
	ServiceUser string `json:"serviceUser"`
	Expires     string `json:"expires"`
	DaysLeft    int    `json:"daysLeft"`
	// Text is the event in a sentence, for Slack, Mattermost or Teams incoming webhooks.
	Text string `json:"text"`
}

// webhookTransport sends webhook requests.
type webhookTransport = http.RoundTripper

// ParseWebhookURL checks one entry of NOTIFY_WEBHOOK_URLS: an absolute http(s) URL without a
// fragment. Its error never repeats the URL, whose path may be a secret.
func ParseWebhookURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" || u.Opaque != "" {
		return nil, errors.New("not an absolute http(s) URL without a #fragment, such as https://hooks.example.com/services/…")
	}
	return u, nil
}

// RedactURL is what may be shown of a URL: its scheme and host, with "/…" for a path or
// query (where webhook services keep their secret) and without user or password.
func RedactURL(u *url.URL) string {
	s := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		s += "/…"
	}
	return s
}

// LoopbackHost reports whether host (a name or an address, without port) is this machine.
func LoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// SMTP is the mail server of email notifications.
type SMTP struct {
	Host, Username, Password string
	Port                     int
	// ImplicitTLS: smtps://. Otherwise STARTTLS is required unless StartTLSOptional.
	ImplicitTLS      bool
	StartTLSOptional bool
	From             string
}

// ParseSMTPURL reads SMTP_URL: smtp://[user:password@]host[:port] (STARTTLS, port 587) or
// smtps://… (TLS from the start, port 465). insecureOK (ALLOW_INSECURE_HTTP) makes STARTTLS
// optional, as it is for a server on this machine. Its error never repeats the URL.
func ParseSMTPURL(s string, insecureOK bool) (*SMTP, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, errors.New("want smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465 (TLS), with no path or parameters")
	}
	c := &SMTP{Host: u.Hostname(), ImplicitTLS: u.Scheme == "smtps", Port: 587}
	if c.ImplicitTLS {
		c.Port = 465
	}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil || c.Port < 1 || c.Port > 65535 {
			return nil, errors.New("the port must be a number from 1 to 65535")
		}
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	c.StartTLSOptional = !c.ImplicitTLS && (insecureOK || LoopbackHost(c.Host))
	return c, nil
}

// Redacted is the server as it may be shown: no password.
func (c *SMTP) Redacted() string {
	scheme := "smtp"
	if c.ImplicitTLS {
		scheme = "smtps"
	}
	user := ""
	if c.Username != "" {
		user = url.User(c.Username).String() + "@"
	}
	return scheme + "://" + user + net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// ParseEmail checks one address of NOTIFY_EMAILS or NOTIFY_EMAIL_FROM: a bare address.
func ParseEmail(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", errors.New("not a plain email address such as ops@example.com")
	}
	return s, nil
}

// destinations builds the configured destinations and lists the secrets their errors must
// never show.
func destinations(opt Options) ([]*Destination, []string, error) {
	var out []*Destination
	var secrets []string
	if len(opt.WebhookSecret) > 0 {
		secrets = append(secrets, string(opt.WebhookSecret))
	}
	transport := opt.Transport
	if transport == nil {
		transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	client := &http.Client{
		Transport: transport,
		Timeout:   Timeout,
		// A receiver's redirect is not followed: the operator chose the URL, nobody else may.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	labels := map[string]int{}
	for i, raw := range opt.Webhooks {
		u, err := ParseWebhookURL(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("webhook %d: %w", i+1, err)
		}
		sum := sha256.Sum256([]byte(raw))
		label := RedactURL(u)
		if labels[label]++; labels[label] > 1 {
			label += " (" + strconv.Itoa(labels[label]) + ")"
		}
		secrets = append(secrets, raw, u.RequestURI(), u.Path, u.RawQuery, u.User.String())
		// A receiver may echo part of the path: each long segment and query value is a secret too.
		for _, seg := range strings.Split(u.Path, "/") {
			if len(seg) >= 12 {
				secrets = append(secrets, seg)
			}
		}
		for _, vs := range u.Query() {
			for _, v := range vs {
				if len(v) >= 8 {
					secrets = append(secrets, v)
				}
			}
		}
		if p, ok := u.User.Password(); ok {
			secrets = append(secrets, p)
		}
		w := &webhook{url: raw, client: client, secret: opt.WebhookSecret, version: opt.Version, portal: opt.PublicURL}
		out = append(out, &Destination{
			Target: Target{Key: KindWebhook + ":" + hex.EncodeToString(sum[:8]), Label: label, Kind: KindWebhook},
			send:   w.send,
		})
	}
	if opt.Email != nil {
		if opt.Email.Password != "" {
			secrets = append(secrets, opt.Email.Password,
				base64.StdEncoding.EncodeToString([]byte("\x00"+opt.Email.Username+"\x00"+opt.Email.Password)))
		}
		for _, addr := range opt.Emails {
			e := &email{server: opt.Email, to: addr, portal: opt.PublicURL}
			out = append(out, &Destination{
				Target: Target{Key: KindEmail + ":" + strings.ToLower(addr), Label: addr, Kind: KindEmail},
				send:   e.send,
			})
		}
	}
	return out, secrets, nil
}

// webhook POSTs the payload as JSON, signed when there is a secret.
type webhook struct {
	url             string
	client          *http.Client
	secret          []byte
	version, portal string
}

func (w *webhook) send(ctx context.Context, d Delivery, now time.Time) error {
	_, text := describe(d.Event, now, w.portal, chatText)
	body, err := json.Marshal(Payload{
		Event: d.Event.Kind, TokenID: d.Event.TokenID, Subject: d.Event.Subject, ServiceUser: d.Event.ServiceUser,
		Expires: d.Event.Expires.UTC().Format("2006-01-02T15:04:05.000Z07:00"), DaysLeft: DaysLeft(d.Event, now), Text: text,
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return errors.New("the URL cannot be requested")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "CodeMetrics/"+w.version)
	req.Header.Set(EventHeader, d.Event.Kind)
	req.Header.Set(DeliveryHeader, strconv.FormatInt(d.ID, 10))
	if len(w.secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(w.secret, now, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return transportError(err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := "the receiver answered HTTP " + strconv.Itoa(resp.StatusCode)
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			msg += " (a redirect, which is not followed: configure the URL it points to)"
		}
		if s := strings.TrimSpace(string(snippet)); s != "" {
			msg += ": " + s
		}
		return errors.New(msg)
	}
	return nil
}

// transportError says why a request got no answer, without the URL net/http puts in its errors.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("no answer within %s", Timeout)
		}
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s", Timeout)
	}
	return fmt.Errorf("could not reach the receiver: %v", err)
}

// email sends one message to one address.
type email struct {
	server *SMTP
	to     string
	portal string
}

func (e *email) send(ctx context.Context, d Delivery, now time.Time) error {
	title, text := describe(d.Event, now, e.portal, plainText)
	m := gomail.NewMsg()
	if err := m.From(e.server.From); err != nil {
		return fmt.Errorf("NOTIFY_EMAIL_FROM: %v", err)
	}
	if err := m.To(e.to); err != nil {
		return fmt.Errorf("the address is refused: %v", err)
	}
	m.Subject(title)
	m.SetDate()
	m.SetMessageID()
	m.SetGenHeader(gomail.Header(EventHeader), d.Event.Kind)
	m.SetGenHeader(gomail.Header(DeliveryHeader), strconv.FormatInt(d.ID, 10))
	m.SetBodyString(gomail.TypeTextPlain, text+"\n\n"+details(d.Event, now))
	opts := []gomail.Option{gomail.WithPort(e.server.Port), gomail.WithTimeout(Timeout)}
	switch {
	case e.server.ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case e.server.StartTLSOptional:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if e.server.Username != "" {
		// Over TLS, the strongest mechanism the server offers. Where TLS is optional (a server
		// on this machine, or ALLOW_INSECURE_HTTP) the operator has accepted a connection in
		// clear, so the plain mechanisms are allowed without it, after the challenge ones.
		auth := gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover)
		if e.server.StartTLSOptional {
			auth = gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1, gomail.SMTPAuthCramMD5,
				gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc)
		}
		opts = append(opts, auth, gomail.WithUsername(e.server.Username), gomail.WithPassword(e.server.Password))
	}
	c, err := gomail.NewClient(e.server.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail client: %v", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("the mail server refused or could not be reached: %v", err)
	}
	return nil
}

// scrubber returns a function that makes an error fit to store and show: every secret (the
// webhook URLs and their paths, the signing secret, the SMTP password) replaced by "…", on one
// line, at most MaxErrorLength characters.
func scrubber(secrets []string) func(string) string {
	var keep []string
	for _, s := range secrets {
		if len(s) >= 4 && !slices.Contains(keep, s) {
			keep = append(keep, s)
		}
	}
	// Longest first, so that a URL goes before the path inside it.
	slices.SortFunc(keep, func(a, b string) int { return len(b) - len(a) })
	return func(s string) string {
		s = strings.ToValidUTF8(s, "\uFFFD")
		for _, secret := range keep {
			s = strings.ReplaceAll(s, secret, "…")
		}
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r) {
				return ' '
			}
			return r
		}, s)
		s = strings.Join(strings.Fields(s), " ")
		if utf8.RuneCountInString(s) > MaxErrorLength {
			s = string([]rune(s)[:MaxErrorLength-1]) + "…"
		}
		return s
	}
}
