package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/auth"
	"github.com/codemetrics/codemetrics/backend/internal/config"
	"github.com/codemetrics/codemetrics/backend/internal/server"
	"github.com/codemetrics/codemetrics/backend/internal/store"
)

// SigningKey is the test-only signing key of every test server.
const SigningKey = "test-only-signing-key-0123456789-abcdefghijklmnop"

// Epoch is where every test clock starts.
var Epoch = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Clock is a settable clock shared by a test and its servers.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at Epoch.
func NewClock() *Clock { return &Clock{t: Epoch} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// NewClockAt returns a clock at t (tests that mix a server with the real-time command line).
func NewClockAt(t time.Time) *Clock { return &Clock{t: t} }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set puts the clock at t, backwards too: a clock stepped back by NTP or an operator.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Buffer is a goroutine-safe buffer for captured logs.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Env is one running CodeMetrics server in a test.
type Env struct {
	T      testing.TB
	Server *server.Server
	HTTP   *httptest.Server
	URL    string
	Clock  *Clock
	Logs   *Buffer
	DB     DB
}

// Settings adjust a test server before it starts.
type Settings struct {
	// Env holds extra environment variables.
	Env map[string]string
	// Clock is shared with other servers when set (two instances, one time).
	Clock *Clock
	// Store options (a statement counter).
	Store store.Options
	// SPA replaces the portal's files (by default an index.html and one asset).
	SPA fs.FS
	// RealTime runs the server on the real clock with its background loops (feed polls every
	// 250 ms, flushes, notifications), as a deployed instance: for the cluster scenarios, which
	// measure time. Clock is then unused.
	RealTime bool
}

// Start starts a server on db and stops it when the test ends. Background loops do not run:
// tests read the revocation feed and flush last-use times explicitly.
func Start(t testing.TB, db DB, s ...Settings) *Env {
	t.Helper()
	set := settings(s)
	hs := httptest.NewUnstartedServer(nil)
	url := "http://" + hs.Listener.Addr().String()
	srv, logs := build(t, db, set, url)
	if set.RealTime {
		ctx, cancel := context.WithCancel(context.Background())
		wait := srv.RunBackground(ctx)
		t.Cleanup(func() { cancel(); wait() }) // before the server closes
	}
	// The same limits as production: timeouts, header size.
	prod := srv.HTTPServer()
	hs.Config.Handler = srv.Handler
	hs.Config.ReadHeaderTimeout, hs.Config.ReadTimeout = prod.ReadHeaderTimeout, prod.ReadTimeout
	hs.Config.WriteTimeout, hs.Config.IdleTimeout, hs.Config.MaxHeaderBytes = prod.WriteTimeout, prod.IdleTimeout, prod.MaxHeaderBytes
	hs.Start()
	hs.Client().Transport = Validating(t, hs.Client().Transport)
	t.Cleanup(hs.Close) // before the server closes: cleanups run last first
	return &Env{T: t, Server: srv, HTTP: hs, URL: url, Clock: set.Clock, Logs: logs, DB: db}
}

// StartTwo starts two instances on db that share one clock, as two replicas of one
// deployment: for the tests of what one instance does reaching the other.
func StartTwo(t testing.TB, db DB) (a, b *Env) {
	t.Helper()
	clock := NewClock()
	return Start(t, db, Settings{Clock: clock}), Start(t, db, Settings{Clock: clock})
}

// New builds a server on db as Start does, without serving it, and closes it when the test
// ends: for the tests of server.Serve itself (set HTTP_ADDR and METRICS_ADDR in Env).
func New(t testing.TB, db DB, s ...Settings) (*server.Server, *Buffer) {
	t.Helper()
	return build(t, db, settings(s), "")
}

func settings(s []Settings) Settings {
	var set Settings
	if len(s) > 0 {
		set = s[0]
	}
	if set.Clock == nil {
		set.Clock = NewClock()
	}
	if set.SPA == nil {
		set.SPA = fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>CodeMetrics</title><div id=root></div>")}, "assets/app.js": {Data: []byte("console.log(1)")}}
	}
	return set
}

// build makes the server of Start and New, its logs captured (and shown if the test fails).
func build(t testing.TB, db DB, set Settings, publicURL string) (*server.Server, *Buffer) {
	t.Helper()
	env := map[string]string{
		"DATABASE_DRIVER":   db.Driver,
		"DATABASE_DSN":      db.DSN,
		"TOKEN_SIGNING_KEY": SigningKey,
		// Limits off unless a test sets them: many tests send many requests from one address.
		"RATE_LIMIT_PER_MINUTE":      "0",
		"AUTH_RATE_LIMIT_PER_MINUTE": "0",
		// As long as a session lasts, unless a test sets it: many tests move the clock by hours
		// between two requests of one session.
		"SESSION_IDLE_TIMEOUT": "8h",
	}
	if publicURL != "" {
		env["PUBLIC_URL"] = publicURL
	}
	maps.Copy(env, set.Env)
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &Buffer{}
	now := set.Clock.Now
	if set.RealTime {
		now = time.Now
	}
	srv, err := server.New(context.Background(), cfg, server.Options{
		Log:     slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		SPA:     set.SPA,
		Version: "test",
		Now:     now,
		Store:   set.Store,
	})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		srv.Close()
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	return srv, logs
}

// Session is a signed-in browser: its session cookie and CSRF token.
type Session struct {
	auth.Session
	Cookie *http.Cookie
	CSRF   string
}

// TestIssuer is the identity provider of the sessions SignIn starts; their subject is the email.
const TestIssuer = "https://idp.test"

// SignIn starts a session through the same function the OIDC sign-in calls, for a person with
// a verified email, keyed by TestIssuer and the email.
func (e *Env) SignIn(email string, admin bool) Session {
	e.T.Helper()
	secret, sess, err := e.Server.Sessions.Start(context.Background(), auth.Identity{
		Issuer: TestIssuer, Subject: email, Email: email, EmailVerified: true, Name: strings.Split(email, "@")[0], IsAdmin: admin,
	})
	if err != nil {
		e.T.Fatalf("start session: %v", err)
	}
	return Session{Session: sess, Cookie: &http.Cookie{Name: "codemetrics_session", Value: secret}, CSRF: e.Server.Sessions.CSRFToken(sess)}
}

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it is not JSON.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response %d is not the JSON expected: %v\n%s", r.Status, err, r.Body)
	}
}

// Opt changes a request before it is sent.
type Opt func(*http.Request)

// Bearer sends Authorization: Bearer tok.
func Bearer(tok string) Opt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

// Header sets a header.
func Header(k, v string) Opt { return func(r *http.Request) { r.Header.Set(k, v) } }

// Cookie sends the session cookie only (no CSRF token), as a forged cross-site form would.
func Cookie(s Session) Opt { return func(r *http.Request) { r.AddCookie(s.Cookie) } }

// As sends what the portal sends: the session cookie, the CSRF token and a same-origin Origin.
func (e *Env) As(s Session) Opt {
	return func(r *http.Request) {
		r.AddCookie(s.Cookie)
		r.Header.Set("X-CSRF-Token", s.CSRF)
		if r.Method != http.MethodGet {
			r.Header.Set("Origin", e.URL)
		}
	}
}

// For returns e with its failures (and the OpenAPI check's) reported to t: a subtest's, or a
// fuzz target's, since only the goroutine of a test may end it.
func (e *Env) For(t testing.TB) *Env {
	c := *e
	c.T = t
	return &c
}

// Do sends a request. body is sent as is when it is a string or []byte, else as JSON.
func (e *Env) Do(method, path string, body any, opts ...Opt) *Response {
	e.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.T.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.T.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := e.HTTP.Client().Do(ReportTo(e.T, req))
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// CreatedToken is what POST /api/tokens returned.
type CreatedToken struct {
	AccessToken string `json:"accessToken"`
	TokenID     string `json:"tokenId"`
	Expires     string `json:"expires"`
}

// CreateToken creates a service token through the API as admin, failing the test otherwise.
func (e *Env) CreateToken(admin Session, body any) CreatedToken {
	e.T.Helper()
	r := e.Do(http.MethodPost, "/api/tokens", body, e.As(admin))
	if r.Status != http.StatusCreated {
		e.T.Fatalf("create token: %d %s", r.Status, r.Body)
	}
	var c CreatedToken
	r.JSON(e.T, &c)
	return c
}

// Sync reads the revocation feed now, as the background loop would.
func (e *Env) Sync() {
	e.T.Helper()
	e.step("sync revocation feed", e.Server.Guard.Sync)
}

// Purge deletes ended sessions and expired sign-in states now, as the background loop would.
func (e *Env) Purge() {
	e.T.Helper()
	e.step("purge", e.Server.Purge)
}

// Flush writes last-use times now, as the background loop would.
func (e *Env) Flush() {
	e.T.Helper()
	e.step("flush last-use times", e.Server.Guard.Flush)
}

// step runs one step of a background loop now, failing the test on an error.
func (e *Env) step(what string, f func(context.Context) error) {
	e.T.Helper()
	if err := f(context.Background()); err != nil {
		e.T.Fatalf("%s: %v", what, err)
	}
}

// PruneRuns deletes the runs older than PIPELINE_RUN_RETENTION now, as the background loop
// would, and returns how many.
func (e *Env) PruneRuns() int {
	e.T.Helper()
	var n int
	e.step("prune runs", func(ctx context.Context) (err error) { n, err = e.Server.PruneRuns(ctx); return err })
	return n
}

// PurgeHistory purges the tokens that ended more than TOKEN_HISTORY_RETENTION ago now, as the
// background loop would, and returns how many.
func (e *Env) PurgeHistory() int {
	e.T.Helper()
	var n int
	e.step("purge token history", func(ctx context.Context) (err error) { n, err = e.Server.PurgeHistory(ctx); return err })
	return n
}
