package httpapi_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/codemetrics/codemetrics/backend/internal/notify"
	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
	"github.com/codemetrics/codemetrics/backend/internal/token"
)

// hookBody is a webhook request's body; decoding it refuses any other field.
type hookBody struct {
	Event       string `json:"event"`
	TokenID     string `json:"tokenId"`
	Subject     string `json:"subject"`
	ServiceUser string `json:"serviceUser"`
	Expires     string `json:"expires"`
	DaysLeft    int    `json:"daysLeft"`
	Text        string `json:"text"`
}

// verifyHook checks a request as a receiver would, written here from the documentation and not
// from the server's code: CodeMetrics-Signature is t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<body>"> with the shared secret, t is the sending time (at when not zero), and the body
// holds exactly the documented fields.
func verifyHook(t *testing.T, h testenv.Hook, at time.Time) hookBody {
	t.Helper()
	var ts, v1 string
	for _, part := range strings.Split(h.Header.Get("CodeMetrics-Signature"), ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	mac := hmac.New(sha256.New, []byte(testenv.HookSecret))
	mac.Write([]byte(ts + "." + string(h.Body)))
	got, err := hex.DecodeString(v1)
	if ts == "" || err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		t.Errorf("the signature %q does not verify for body %s", h.Header.Get("CodeMetrics-Signature"), h.Body)
	}
	if sec, _ := strconv.ParseInt(ts, 10, 64); !at.IsZero() && sec != at.Unix() {
		t.Errorf("signed at %s, want %d (the sending time)", ts, at.Unix())
	}
	if h.Header.Get("Content-Type") != "application/json" || h.Header.Get("CodeMetrics-Delivery") == "" {
		t.Errorf("headers %v lack Content-Type application/json or CodeMetrics-Delivery", h.Header)
	}
	var b hookBody
	d := json.NewDecoder(bytes.NewReader(h.Body))
	d.DisallowUnknownFields()
	if err := d.Decode(&b); err != nil {
		t.Fatalf("webhook body %s: %v", h.Body, err)
	}
	if h.Header.Get("CodeMetrics-Event") != b.Event {
		t.Errorf("CodeMetrics-Event %q, body's event %q", h.Header.Get("CodeMetrics-Event"), b.Event)
	}
	return b
}

// delivery is one entry of GET /api/notifications/deliveries.
type delivery struct {
	ID            int64   `json:"id"`
	Event         string  `json:"event"`
	TokenID       *string `json:"tokenId"`
	Subject       *string `json:"subject"`
	ThresholdDays *int    `json:"thresholdDays"`
	Destination   string  `json:"destination"`
	Kind          string  `json:"kind"`
	Status        string  `json:"status"`
	Attempts      int     `json:"attempts"`
	LastError     *string `json:"lastError"`
	Created       string  `json:"created"`
	LastAttempt   *string `json:"lastAttempt"`
	NextAttempt   *string `json:"nextAttempt"`
}

func deliveries(t *testing.T, e *testenv.Env, admin testenv.Session) []delivery {
	t.Helper()
	r := e.Do(http.MethodGet, "/api/notifications/deliveries?limit=1000", nil, e.As(admin))
	if r.Status != http.StatusOK {
		t.Fatalf("deliveries: %d %s", r.Status, r.Body)
	}
	var out []delivery
	r.JSON(t, &out)
	return out
}

// runTogether runs the due check of every instance twice, all at once, as instances whose
// intervals coincide would.
func runTogether(t *testing.T, instances ...*testenv.Env) {
	t.Helper()
	var wg sync.WaitGroup
	for range 2 {
		for _, e := range instances {
			wg.Go(func() {
				if err := e.Server.Notifier.RunOnce(context.Background()); err != nil {
					t.Errorf("notify: %v", err)
				}
			})
		}
	}
	wg.Wait()
}

// TestExpiryWarningsOncePerThresholdAcrossInstances runs two instances on one database, their
// due checks at the same moments, one of them restarted half way: every token gets each of its
// warnings (30, 7 and 1 days before expiry) and its expiry exactly once at each destination,
// signed so the receiver can verify it; a token made with 5 days left gets the 7-day warning at
// once and never the 30-day one.
func TestExpiryWarningsOncePerThresholdAcrossInstances(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		recv := testenv.NewReceiver(t)
		env := testenv.NotifyEnv(recv.URL+"/a"+testenv.HookPath, recv.URL+"/b")
		env["SERVICE_TOKEN_TTL"] = "40d"
		clock := testenv.NewClock()
		a := testenv.Start(t, db, testenv.Settings{Env: env, Clock: clock})
		b := testenv.Start(t, db, testenv.Settings{Env: env, Clock: clock})
		admin := a.SignIn("admin@example.com", true)
		long := a.CreateToken(admin, map[string]any{"subject": "nightly-export"})
		short, err := a.Server.Tokens.Create(context.Background(), token.CreateRequest{
			Subject: "short-lived", CreatedBy: "cli:ops", Audit: audit.CLI("ops"), TTL: 5 * 24 * time.Hour,
		})
		if err != nil {
			t.Fatal(err)
		}

		type sent struct {
			event, token string
			daysLeft     int
			at           time.Time
		}
		var want []sent
		step := func(to time.Duration, expect ...sent) {
			t.Helper()
			clock.Set(testenv.Epoch.Add(to))
			runTogether(t, a, b)
			for _, s := range expect {
				s.at = clock.Now()
				want = append(want, s)
			}
		}
		step(0, sent{"token.expiring", short.Token.ID, 5, time.Time{}})
		step(4*24*time.Hour+12*time.Hour, sent{"token.expiring", short.Token.ID, 1, time.Time{}})
		step(5*24*time.Hour+time.Hour, sent{"token.expired", short.Token.ID, 0, time.Time{}})
		step(9 * 24 * time.Hour) // 31 days left: nothing yet
		step(10*24*time.Hour+time.Hour, sent{"token.expiring", long.TokenID, 30, time.Time{}})

		b.Stop() // b restarts on the same database
		b = testenv.Start(t, db, testenv.Settings{Env: env, Clock: clock})
		step(10*24*time.Hour + 2*time.Hour)
		step(33*24*time.Hour+12*time.Hour, sent{"token.expiring", long.TokenID, 7, time.Time{}})
		step(39*24*time.Hour+time.Hour, sent{"token.expiring", long.TokenID, 1, time.Time{}})
		step(40*24*time.Hour+time.Minute, sent{"token.expired", long.TokenID, 0, time.Time{}})
		step(41 * 24 * time.Hour)

		for _, path := range []string{"/a" + testenv.HookPath, "/b"} {
			hits := recv.Hits(path)
			var got []sent
			for _, h := range hits {
				body := verifyHook(t, h, time.Time{})
				got = append(got, sent{body.Event, body.TokenID, body.DaysLeft, time.Time{}})
			}
			var wantHere []sent
			for i, w := range want {
				wantHere = append(wantHere, sent{w.event, w.token, w.daysLeft, time.Time{}})
				if i < len(hits) {
					verifyHook(t, hits[i], w.at)
				}
			}
			if !slices.Equal(got, wantHere) {
				t.Errorf("%s received\n%v\nwant each event once, in order:\n%v", path, got, wantHere)
			}
		}
		for _, h := range recv.Hits("") {
			body := verifyHook(t, h, time.Time{})
			wantExp := long.Expires
			if body.TokenID == short.Token.ID {
				wantExp = short.Token.ExpiresAt.UTC().Format(testenv.TimeFormat)
				if body.Subject != "short-lived" || body.ServiceUser != "short-lived" {
					t.Errorf("subject %q, serviceUser %q, want short-lived (the subject, until service users)", body.Subject, body.ServiceUser)
				}
			}
			if body.Expires != wantExp {
				t.Errorf("%s expires %s, want %s", body.Event, body.Expires, wantExp)
			}
			if strings.Contains(string(h.Body), long.AccessToken[strings.LastIndex(long.AccessToken, ".")+1:]) {
				t.Error("a payload holds a token's signature")
			}
		}
		if !strings.Contains(string(recv.Hits("/b")[3].Body), "expires in 30 days") {
			t.Errorf("the 30-day warning reads %s", recv.Hits("/b")[3].Body)
		}

		ds := deliveries(t, b, b.SignIn("admin@example.com", true))
		if len(ds) != 2*len(want) {
			t.Errorf("%d deliveries in the log, want %d", len(ds), 2*len(want))
		}
		for _, d := range ds {
			if d.Status != notify.Delivered || d.Attempts != 1 || d.LastError != nil || d.NextAttempt != nil {
				t.Errorf("delivery %+v, want delivered at the first attempt", d)
			}
		}
	})
}

// TestFailingReceiverIsRetriedThenGivenUp: a receiver that fails three times gets the event at
// the fourth attempt, after 30 s, 1 min and 2 min; one that always fails is tried with growing
// waits for 24 hours, then the delivery is marked failed and never tried again. The stored error
// holds neither the webhook's secret path nor the signing secret the receiver echoed.
func TestFailingReceiverIsRetriedThenGivenUp(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		recv := testenv.NewReceiver(t)
		flaky, dead := "/flaky"+testenv.HookPath, "/dead"
		recv.Fail(flaky, 3, http.StatusInternalServerError, "no route for "+testenv.HookPath+" signed with "+testenv.HookSecret)
		recv.Fail(dead, -1, http.StatusServiceUnavailable, "down for maintenance\n")
		e := testenv.Start(t, db, testenv.Settings{Env: testenv.NotifyEnv(recv.URL+flaky, recv.URL+dead)})
		admin := e.SignIn("admin@example.com", true)
		tok := e.CreateToken(admin, map[string]any{"subject": "ci"})
		if r := e.Do(http.MethodDelete, "/api/tokens/"+tok.TokenID, nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		start := e.Clock.Now()
		byDest := func() map[string]delivery {
			m := map[string]delivery{}
			for _, d := range deliveries(t, e, e.SignIn("admin@example.com", true)) { // a day outlives a session
				m[d.Destination] = d
			}
			return m
		}
		flakyName, deadName := recv.URL+"/…", recv.URL+"/… (2)"

		e.Notify()
		d := byDest()[flakyName]
		if d.Status != notify.Pending || d.Attempts != 1 || d.LastError == nil || d.NextAttempt == nil ||
			*d.NextAttempt != start.Add(30*time.Second).Format(testenv.TimeFormat) {
			t.Fatalf("after a failure: %+v, want pending with a retry 30 s later", d)
		}
		if !strings.HasPrefix(*d.LastError, "the receiver answered HTTP 500: no route for /services/T0CM/B0CM/… signed with …") {
			t.Errorf("lastError %q, want the receiver's status and answer without secrets", *d.LastError)
		}
		if dd := byDest()[deadName]; dd.LastError == nil || *dd.LastError != "the receiver answered HTTP 503: down for maintenance" {
			t.Errorf("the other destination's lastError is %v", dd.LastError)
		}
		e.Notify() // not due yet
		if n := len(recv.Hits(flaky)); n != 1 {
			t.Fatalf("%d attempts before the retry is due, want 1", n)
		}
		for _, wait := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute} {
			e.Clock.Advance(wait)
			e.Notify()
		}
		d = byDest()[flakyName]
		if d.Status != notify.Delivered || d.Attempts != 4 || d.NextAttempt != nil || len(recv.Hits(flaky)) != 4 {
			t.Errorf("after three failures: %+v with %d requests, want delivered at the fourth", d, len(recv.Hits(flaky)))
		}
		ids := map[string]bool{}
		for _, h := range recv.Hits(flaky) {
			verifyHook(t, h, time.Time{})
			ids[h.Header.Get("CodeMetrics-Delivery")] = true
		}
		if len(ids) != 1 {
			t.Errorf("the retries carry CodeMetrics-Delivery %v, want one id", ids)
		}

		for e.Clock.Now().Before(start.Add(25 * time.Hour)) {
			e.Clock.Advance(time.Hour)
			e.Notify()
		}
		dd := byDest()[deadName]
		hits := recv.Hits(dead)
		last, _ := time.Parse(testenv.TimeFormat, *dd.LastAttempt)
		if dd.Status != notify.Failed || dd.NextAttempt != nil || dd.Attempts != len(hits) || last.Before(start.Add(24*time.Hour)) {
			t.Errorf("after 25 hours: %+v with %d requests, want failed, its last attempt at 24 h", dd, len(hits))
		}
		if len(hits) < 20 || len(hits) > 40 {
			t.Errorf("%d attempts in 24 hours", len(hits))
		}
		e.Clock.Advance(48 * time.Hour)
		e.Notify()
		if n := len(recv.Hits(dead)); n != len(hits) {
			t.Errorf("a failed delivery was tried again (%d requests, then %d)", len(hits), n)
		}
		if !strings.Contains(e.Logs.String(), "notification not delivered: gave up") {
			t.Error("giving up is not logged")
		}
	})
}

// TestClaimsAreLeased: a delivery claimed by an instance that died is left alone until its
// lease ends, then delivered once by another.
func TestClaimsAreLeased(t *testing.T) {
	t.Parallel()
	testenv.ForEachNotifyingServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session, recv *testenv.Receiver) {
		tok := e.CreateToken(admin, map[string]any{"subject": "ci"})
		if r := e.Do(http.MethodDelete, "/api/tokens/"+tok.TokenID, nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		st := e.Server.Store
		now := e.Clock.Now()
		ctx := context.Background()
		if _, err := st.FanOut(ctx, now.Add(-time.Hour), now, e.Server.Notifier.Destinations()); err != nil {
			t.Fatal(err)
		}
		ids, err := st.DueDeliveries(ctx, now, 10)
		if err != nil || len(ids) != 1 {
			t.Fatalf("due: %v %v", ids, err)
		}
		if _, ok, err := st.ClaimDelivery(ctx, ids[0], "dead-instance", now, now.Add(notify.Lease)); !ok || err != nil {
			t.Fatalf("claim: %v %v", ok, err)
		}
		if _, ok, _ := st.ClaimDelivery(ctx, ids[0], "another", now, now.Add(notify.Lease)); ok {
			t.Fatal("a claimed delivery was claimed again")
		}
		e.Clock.Advance(notify.Lease - time.Second)
		e.Notify()
		if n := len(recv.Hits("")); n != 0 {
			t.Fatalf("%d requests while another instance holds the claim", n)
		}
		e.Clock.Advance(time.Second)
		e.Notify()
		e.Notify()
		if n := len(recv.Hits("")); n != 1 {
			t.Fatalf("%d requests after the lease ended, want 1", n)
		}
		if err := st.FinishDelivery(ctx, ids[0], "dead-instance", notify.Outcome{At: e.Clock.Now(), Status: notify.Failed, Error: "late"}); err == nil {
			t.Error("the dead instance recorded an outcome after losing its claim")
		}
		if d := deliveries(t, e, admin); len(d) != 1 || d[0].Status != notify.Delivered || d[0].Attempts != 1 {
			t.Errorf("deliveries %+v, want one delivered", d)
		}
	})
}

// TestNotificationsAPI: administrators see the destinations (never the secret, a webhook's path
// or the mail password), send a test to each and read the result and the delivery log, paged;
// nobody else may.
func TestNotificationsAPI(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		recv := testenv.NewReceiver(t)
		recv.Fail("/broken", -1, http.StatusNotFound, "no such hook")
		mail := testenv.NewMailServer(t, "mailer", "smtp-pa55-Tq9")
		env := testenv.NotifyEnv(recv.URL+"/ok"+testenv.HookPath, recv.URL+"/broken")
		env["SMTP_URL"] = "smtp://mailer:smtp-pa55-Tq9@" + mail.Addr
		env["NOTIFY_EMAILS"] = "ops@example.com"
		env["NOTIFY_EMAIL_FROM"] = "codemetrics@example.com"
		e := testenv.Start(t, db, testenv.Settings{Env: env})
		admin := e.SignIn("admin@example.com", true)

		r := e.Do(http.MethodGet, "/api/notifications/destinations", nil, e.As(admin))
		var settings struct {
			Destinations []struct {
				ID, Kind, Destination string
			} `json:"destinations"`
			WebhookSigned bool    `json:"webhookSigned"`
			EmailServer   *string `json:"emailServer"`
			CheckInterval string  `json:"checkInterval"`
			Seconds       int     `json:"checkIntervalSeconds"`
			ThresholdDays []int   `json:"thresholdDays"`
		}
		r.JSON(t, &settings)
		host := strings.TrimPrefix(recv.URL, "http://")
		if r.Status != http.StatusOK || len(settings.Destinations) != 3 || !settings.WebhookSigned || settings.CheckInterval != "1m0s" || settings.Seconds != 60 ||
			settings.EmailServer == nil || *settings.EmailServer != "smtp://mailer@"+mail.Addr || !slices.Equal(settings.ThresholdDays, []int{30, 7, 1}) {
			t.Fatalf("destinations: %d %s", r.Status, r.Body)
		}
		for i, want := range []string{"http://" + host + "/…", "http://" + host + "/… (2)", "ops@example.com"} {
			if settings.Destinations[i].Destination != want {
				t.Errorf("destination %d is %q, want %q", i, settings.Destinations[i].Destination, want)
			}
		}
		if settings.Destinations[2].ID != "email:ops@example.com" || !strings.HasPrefix(settings.Destinations[0].ID, "webhook:") {
			t.Errorf("ids %+v", settings.Destinations)
		}
		for _, s := range []string{testenv.HookSecret, testenv.HookPath, "smtp-pa55-Tq9"} {
			if strings.Contains(string(r.Body), s) {
				t.Errorf("the destinations show a secret: %s", r.Body)
			}
		}

		r = e.Do(http.MethodPost, "/api/notifications/test", nil, e.As(admin))
		var results struct {
			Results []struct {
				ID, Kind, Destination, Status string
				Error                         *string
			} `json:"results"`
		}
		r.JSON(t, &results)
		if r.Status != http.StatusOK || len(results.Results) != 3 {
			t.Fatalf("test: %d %s", r.Status, r.Body)
		}
		if got := results.Results; got[0].Status != "delivered" || got[0].Error != nil || got[1].Status != "failed" ||
			got[1].Error == nil || *got[1].Error != "the receiver answered HTTP 404: no such hook" || got[2].Status != "delivered" {
			t.Errorf("results %s, want the first webhook and the email delivered, the second failed with its answer", r.Body)
		}
		hits := recv.Hits("/ok" + testenv.HookPath)
		if len(hits) != 1 {
			t.Fatalf("%d test requests", len(hits))
		}
		body := verifyHook(t, hits[0], e.Clock.Now())
		if body.Event != "notification.test" || body.TokenID != "" || !strings.Contains(body.Text, "test notification, sent by admin@\u2060example.com") {
			t.Errorf("test payload %s", hits[0].Body)
		}
		msgs := mail.Mail()
		if len(msgs) != 1 || msgs[0].From != "codemetrics@example.com" || !slices.Equal(msgs[0].To, []string{"ops@example.com"}) ||
			!strings.Contains(msgs[0].Data, "Subject: CodeMetrics: test notification") || !strings.Contains(msgs[0].Data, "test notification, sent by admin@example.com") {
			t.Errorf("mail %+v", msgs)
		}

		// A revoked token, by email as well: the same events reach every destination.
		tok := e.CreateToken(admin, map[string]any{"subject": "deploy-bot"})
		if r := e.Do(http.MethodDelete, "/api/tokens/"+tok.TokenID+"?reason="+url.QueryEscape("leaked in a build log"), nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		e.Notify()
		msgs = mail.Mail()
		if len(msgs) != 2 || !strings.Contains(msgs[1].Data, "Subject: CodeMetrics: service token =?UTF-8?") && !strings.Contains(msgs[1].Data, "was revoked") ||
			!strings.Contains(msgs[1].Data, "Token id: "+tok.TokenID) || !strings.Contains(msgs[1].Data, "Reason: leaked in a build log") ||
			!strings.Contains(msgs[1].Data, "CodeMetrics-Event: token.revoked") {
			t.Errorf("revocation mail %+v", msgs)
		}

		ds := deliveries(t, e, admin)
		if len(ds) != 6 {
			t.Fatalf("%d deliveries, want 3 tests and 3 revocations", len(ds))
		}
		if d := ds[len(ds)-1]; d.Event != "notification.test" || d.TokenID != nil || d.Subject != nil || d.ThresholdDays != nil || d.Kind != "webhook" ||
			d.Status != "delivered" || d.Attempts != 1 || d.LastAttempt == nil || !testenv.APITime.MatchString(d.Created) {
			t.Errorf("oldest delivery %+v", d)
		}
		if d := ds[0]; d.Event != "token.revoked" || d.TokenID == nil || *d.TokenID != tok.TokenID || d.Subject == nil || *d.Subject != "deploy-bot" || d.Kind != "email" {
			t.Errorf("newest delivery %+v", d)
		}
		for _, d := range ds {
			if d.Destination == "http://"+host+"/… (2)" && d.Event == "token.revoked" && (d.Status != "pending" || d.NextAttempt == nil) {
				t.Errorf("the revocation to the broken webhook is %+v, want pending a retry", d)
			}
		}

		// Paged as every list.
		var seen []int64
		next := "/api/notifications/deliveries?limit=4"
		for next != "" {
			r := e.Do(http.MethodGet, next, nil, e.As(admin))
			var page []delivery
			r.JSON(t, &page)
			for _, d := range page {
				seen = append(seen, d.ID)
			}
			next = ""
			if l := r.Header.Get("Link"); l != "" {
				next = strings.TrimSuffix(strings.TrimPrefix(l, "<"), `>; rel="next"`)
			}
		}
		var all []int64
		for _, d := range ds {
			all = append(all, d.ID)
		}
		if !slices.Equal(seen, all) {
			t.Errorf("paging saw %v, want %v", seen, all)
		}
		for _, q := range []string{"limit=0", "limit=1001", "cursor=garbage", "limit=2&cursor=" + url.QueryEscape(strings.Repeat("x", 10))} {
			testenv.WantProblem(t, e.Do(http.MethodGet, "/api/notifications/deliveries?"+q, nil, e.As(admin)), http.StatusBadRequest)
		}

		// Only administrators; cookie state changes need the CSRF token.
		viewer := e.SignIn("viewer@example.com", false)
		svc := e.CreateToken(admin, map[string]any{"subject": "ci"})
		for _, path := range []string{"/api/notifications/destinations", "/api/notifications/deliveries"} {
			testenv.WantProblem(t, e.Do(http.MethodGet, path, nil, e.As(viewer)), http.StatusForbidden)
			testenv.WantProblem(t, e.Do(http.MethodGet, path, nil, testenv.Bearer(svc.AccessToken)), http.StatusForbidden)
			testenv.WantProblem(t, e.Do(http.MethodGet, path, nil), http.StatusUnauthorized)
		}
		testenv.WantProblem(t, e.Do(http.MethodPost, "/api/notifications/test", nil, testenv.Cookie(admin), testenv.Header("Origin", e.URL)), http.StatusForbidden)
		testenv.WantProblem(t, e.Do(http.MethodPost, "/api/notifications/test", nil, testenv.Bearer(svc.AccessToken)), http.StatusForbidden)
		if n := len(recv.Hits("/ok" + testenv.HookPath)); n != 2 {
			t.Errorf("%d requests to the receiver, want the test and the revocation only", n)
		}
		events, _ := e.Server.Audit.List(context.Background(), audit.Query{Action: "notification.test_sent"})
		if len(events) != 1 || events[0].Actor != "admin@example.com" || fmt.Sprint(events[0].Details["delivered"]) != "2" {
			t.Errorf("audit events %+v, want one notification.test_sent by the administrator", events)
		}
	})
}

// TestNoDestinationsConfigured: with nothing configured the page says so and a test is a 409.
func TestNoDestinationsConfigured(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t, testenv.SQLite(t))
	admin := e.SignIn("admin@example.com", true)
	r := e.Do(http.MethodGet, "/api/notifications/destinations", nil, e.As(admin))
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"destinations":[]`) || !strings.Contains(string(r.Body), `"emailServer":null`) ||
		!strings.Contains(string(r.Body), `"webhookSigned":false`) {
		t.Errorf("destinations: %d %s", r.Status, r.Body)
	}
	if p := testenv.WantProblem(t, e.Do(http.MethodPost, "/api/notifications/test", nil, e.As(admin)), http.StatusConflict); p.Code != "notifications_not_configured" {
		t.Errorf("code %q", p.Code)
	}
	if r := e.Do(http.MethodGet, "/api/notifications/deliveries", nil, e.As(admin)); r.Status != http.StatusOK || string(r.Body) != "[]" {
		t.Errorf("deliveries: %d %s", r.Status, r.Body)
	}
	e.Notify() // nothing to do, nothing fails
}

// TestEmailErrorsHoldNoPassword: a mail server that refuses the login leaves a failed attempt
// whose error does not repeat the password.
func TestEmailErrorsHoldNoPassword(t *testing.T) {
	t.Parallel()
	mail := testenv.NewMailServer(t, "mailer", "the-right-one")
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: map[string]string{
		"SMTP_URL": "smtp://mailer:wr0ng-pa55-Zx4@" + mail.Addr, "NOTIFY_EMAILS": "ops@example.com",
	}})
	admin := e.SignIn("admin@example.com", true)
	r := e.Do(http.MethodPost, "/api/notifications/test", nil, e.As(admin))
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"status":"failed"`) {
		t.Fatalf("test: %d %s", r.Status, r.Body)
	}
	if _, refused := mail.Logins(); refused == 0 {
		t.Error("the mail server saw no login")
	}
	ds := deliveries(t, e, admin)
	if len(ds) != 1 || ds[0].LastError == nil || !strings.Contains(*ds[0].LastError, "the mail server refused") {
		t.Fatalf("deliveries %+v", ds)
	}
	for _, text := range []string{string(r.Body), *ds[0].LastError, e.Logs.String(), testenv.DumpTables(t, e.DB, "notification_deliveries")} {
		if strings.Contains(text, "wr0ng-pa55-Zx4") {
			t.Errorf("the SMTP password appears: %s", text)
		}
	}
}

// TestTokenExpirationHeader: every answer to a service token, refusals included, says when the
// token stops working, at no database cost; other callers' answers do not.
func TestTokenExpirationHeader(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		var queries atomic.Int64
		e := testenv.Start(t, db, testenv.Settings{
			Env:   map[string]string{"RATE_LIMIT_PER_MINUTE": "6"},
			Store: store.Options{Queries: &queries},
		})
		admin := e.SignIn("admin@example.com", true)
		tok := e.CreateToken(admin, map[string]any{"subject": "ci"})
		exp, _ := time.Parse(testenv.TimeFormat, tok.Expires)
		want := exp.UTC().Format(time.RFC3339)
		e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken)) // the one look-up
		before := queries.Load()
		for _, c := range []struct {
			method, path string
			status       int
		}{
			{http.MethodGet, "/api/system/config", http.StatusOK},
			{http.MethodGet, "/api/tokens/self", http.StatusOK},
			{http.MethodGet, "/api/workloads", http.StatusOK},
			{http.MethodPost, "/api/pipeline/runs", http.StatusForbidden}, // lacks pipeline:write
			{http.MethodGet, "/api/notifications/deliveries", http.StatusForbidden},
			{http.MethodGet, "/api/system/config", http.StatusTooManyRequests},
		} {
			r := e.Do(c.method, c.path, map[string]any{}, testenv.Bearer(tok.AccessToken))
			if r.Status != c.status || r.Header.Get("CodeMetrics-Token-Expiration") != want {
				t.Errorf("%s %s: %d with CodeMetrics-Token-Expiration %q, want %d and %s", c.method, c.path, r.Status, r.Header.Get("CodeMetrics-Token-Expiration"), c.status, want)
			}
		}
		if n := queries.Load() - before; n > 2 { // tokens/self reads its row; workloads lists them
			t.Errorf("%d statements for the header's six requests", n)
		}
		for _, r := range []*testenv.Response{
			e.Do(http.MethodGet, "/api/tokens", nil, e.As(admin)),
			e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken+"x")),
			e.Do(http.MethodGet, "/healthz", nil),
		} {
			if h := r.Header.Get("CodeMetrics-Token-Expiration"); h != "" {
				t.Errorf("an answer to another caller (%d) carries CodeMetrics-Token-Expiration %q", r.Status, h)
			}
		}
	})
}

// TestRevocationReason: DELETE /api/tokens/{id}?reason= records why, for the token, the audit
// event and the notification; a reason that is too long or not one line of visible text is a
// 400 that revokes nothing.
func TestRevocationReason(t *testing.T) {
	t.Parallel()
	testenv.ForEachNotifyingServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session, recv *testenv.Receiver) {
		tok := e.CreateToken(admin, map[string]any{"subject": "ci"})
		for _, bad := range []string{strings.Repeat("x", 201), "two\nlines", "bidi \u202e trick", "zero\u200bwidth", "nul\x00"} {
			r := e.Do(http.MethodDelete, "/api/tokens/"+tok.TokenID+"?reason="+url.QueryEscape(bad), nil, e.As(admin))
			if p := testenv.WantProblem(t, r, http.StatusBadRequest); p.Code != "invalid_parameter" || !strings.Contains(p.Detail, "reason") {
				t.Errorf("reason %q: %s", bad, r.Body)
			}
		}
		for _, l := range e.ListTokens(admin) {
			if l.TokenID != tok.TokenID {
				t.Fatal("unexpected token")
			}
		}
		if r := e.Do(http.MethodGet, "/api/tokens", nil, e.As(admin)); !strings.Contains(string(r.Body), `"revokedBy":null,"revocationReason":null`) {
			t.Errorf("an active token's entry: %s", r.Body)
		}
		reason := "  leaked in build #4711 — rotate: " + strings.Repeat("é", 160) + " "
		if r := e.Do(http.MethodDelete, "/api/tokens/"+tok.TokenID+"?reason="+url.QueryEscape(reason), nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("revoke with a reason of 200 characters: %d %s", r.Status, r.Body)
		}
		reason = strings.TrimSpace(reason)
		got, err := e.Server.Tokens.Get(context.Background(), tok.TokenID)
		if err != nil || got.RevocationReason != reason || got.RevokedBy != "admin@example.com" {
			t.Errorf("stored: reason %q by %q (%v), want %q by admin@example.com", got.RevocationReason, got.RevokedBy, err, reason)
		}
		events, _ := e.Server.Audit.List(context.Background(), audit.Query{Action: "token.revoked"})
		if len(events) != 1 || events[0].Details["reason"] != reason {
			t.Errorf("audit %+v, want the reason in its details", events)
		}
		e.Notify()
		hits := recv.Hits("/hook")
		if len(hits) != 1 {
			t.Fatalf("%d notifications", len(hits))
		}
		if b := verifyHook(t, hits[0], e.Clock.Now()); b.Event != "token.revoked" || b.DaysLeft != 0 || b.TokenID != tok.TokenID ||
			!strings.Contains(b.Text, "was revoked by admin@\u2060example.com") || !strings.Contains(b.Text, "Reason: “"+reason+"”") {
			t.Errorf("revocation payload %s", hits[0].Body)
		}
		// Without a reason: nothing recorded, and the command line's reason goes the same way.
		plain := e.CreateToken(admin, map[string]any{"subject": "plain"})
		if r := e.Do(http.MethodDelete, "/api/tokens/"+plain.TokenID+"?reason=", nil, e.As(admin)); r.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		if got, _ := e.Server.Tokens.Get(context.Background(), plain.TokenID); got.RevocationReason != "" {
			t.Errorf("reason %q, want none", got.RevocationReason)
		}
	})
}

// TestWebhookRedirectsAreNotFollowed: a receiver that redirects does not send CodeMetrics
// anywhere else (an internal address, say): the attempt fails, saying why.
func TestWebhookRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	canary := testenv.NewReceiver(t)
	redirector := httptest.NewServer(http.RedirectHandler(canary.URL+"/internal", http.StatusTemporaryRedirect))
	t.Cleanup(redirector.Close)
	e := testenv.Start(t, testenv.SQLite(t), testenv.Settings{Env: testenv.NotifyEnv(redirector.URL + "/hook")})
	admin := e.SignIn("admin@example.com", true)
	r := e.Do(http.MethodPost, "/api/notifications/test", nil, e.As(admin))
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"status":"failed"`) ||
		!strings.Contains(string(r.Body), "the receiver answered HTTP 307 (a redirect, which is not followed") {
		t.Errorf("test: %d %s", r.Status, r.Body)
	}
	if n := len(canary.Hits("")); n != 0 {
		t.Errorf("the redirect was followed: %d requests reached its target", n)
	}
}
