package testenv

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Notify runs the notifier's due check and its due deliveries now, as the background loop
// does every NOTIFY_CHECK_INTERVAL.
func (e *Env) Notify() {
	e.T.Helper()
	e.step("notify", e.Server.Notifier.RunOnce)
}

// Stop ends this instance now, as a process that goes away: its listener and database
// connections close. Start another on e.DB to restart it.
func (e *Env) Stop() {
	e.HTTP.Close()
	_ = e.Server.Close()
}

// Hook is one request a Receiver was sent.
type Hook struct {
	Path   string
	Header http.Header
	Body   []byte
}

// Receiver is a webhook receiver: it records every request and answers each path with 204,
// or with a failure as Fail says.
type Receiver struct {
	URL string
	srv *httptest.Server

	mu   sync.Mutex
	hits []Hook
	// fail answers a request to path with status and body, times times (-1: always).
	fail map[string]*failure
}

type failure struct {
	times, status int
	body          string
}

// NewReceiver starts a receiver, stopped when the test ends.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{fail: map[string]*failure{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.hits = append(r.hits, Hook{Path: req.URL.Path, Header: req.Header.Clone(), Body: body})
		f := r.fail[req.URL.Path]
		fails := f != nil && f.times != 0
		if fails && f.times > 0 {
			f.times--
		}
		r.mu.Unlock()
		if fails {
			w.WriteHeader(f.status)
			_, _ = io.WriteString(w, f.body)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	r.URL = r.srv.URL
	t.Cleanup(r.srv.Close)
	return r
}

// Fail makes the next times requests to path (all of them when times is -1) answer status with
// body.
func (r *Receiver) Fail(path string, times, status int, body string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail[path] = &failure{times: times, status: status, body: body}
}

// Hits returns the requests to path so far ("" for all), in order.
func (r *Receiver) Hits(path string) []Hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Hook
	for _, h := range r.hits {
		if path == "" || h.Path == path {
			out = append(out, h)
		}
	}
	return out
}

// Mail is one message a MailServer accepted.
type Mail struct {
	From string
	To   []string
	Data string
}

// MailServer is an SMTP server on 127.0.0.1 (go-smtp) that accepts mail after AUTH PLAIN
// with one user and password, and records it.
type MailServer struct {
	Addr string

	mu   sync.Mutex
	mail []Mail
	// Logins counts successful logins; Refused failed ones.
	logins, refused int
	user, password  string
}

// NewMailServer starts a mail server for user and password, stopped when the test ends.
func NewMailServer(t testing.TB, user, password string) *MailServer {
	m := &MailServer{user: user, password: password}
	s := smtp.NewServer(smtpBackend{m})
	s.Domain = "localhost"
	s.AllowInsecureAuth = true // plain text, on loopback only: the client allows PLAIN there too
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.Addr = ln.Addr().String()
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return m
}

// Mail returns the messages accepted so far.
func (m *MailServer) Mail() []Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Mail(nil), m.mail...)
}

// Logins returns how many logins succeeded and failed.
func (m *MailServer) Logins() (ok, refused int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.logins, m.refused
}

type smtpBackend struct{ m *MailServer }

func (b smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &smtpSession{m: b.m}, nil
}

type smtpSession struct {
	m      *MailServer
	authed bool
	from   string
	to     []string
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		s.m.mu.Lock()
		defer s.m.mu.Unlock()
		if user != s.m.user || password != s.m.password {
			s.m.refused++
			return errors.New("invalid credentials")
		}
		s.m.logins++
		s.authed = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	s.m.mail = append(s.m.mail, Mail{From: s.from, To: s.to, Data: strings.ReplaceAll(string(b), "\r\n", "\n")})
	s.m.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset() { s.from, s.to = "", nil }

func (s *smtpSession) Logout() error { return nil }

// ForEachNotifyingServer runs f as a subtest per database (ForEachDB), each with a webhook
// receiver, a server of its own that sends its notifications to the receiver's /hook, signed
// (NotifyEnv), and an administrator signed in.
func ForEachNotifyingServer(t *testing.T, f func(t *testing.T, e *Env, admin Session, recv *Receiver)) {
	ForEachDB(t, func(t *testing.T, db DB) {
		recv := NewReceiver(t)
		e := Start(t, db, Settings{Env: NotifyEnv(recv.URL + "/hook")})
		f(t, e, e.SignIn("admin@example.com", true), recv)
	})
}

// HookSecret is NOTIFY_WEBHOOK_SECRET in tests.
const HookSecret = "whsec-test-Qm8Xr2Lp5Vn9Kc3Tz7Hb1Jd4Fg6Ws0"

// HookPath is a webhook path that stands for the secret path of a Slack or Teams webhook.
const HookPath = "/services/T0CM/B0CM/s3cretHookPathXq71"

// NotifyEnv is the configuration that sends notifications to the webhook urls, signed.
func NotifyEnv(urls ...string) map[string]string {
	return map[string]string{"NOTIFY_WEBHOOK_URLS": strings.Join(urls, ","), "NOTIFY_WEBHOOK_SECRET": HookSecret}
}
