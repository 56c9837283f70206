// Package notify tells people about service tokens before and when they stop working: expiry
// warnings 30, 7 and 1 days ahead, expiry, revocation, rotation and the end of a rotation's
// grace period, sent to webhooks (signed) and email addresses.
//
// Events go through a durable outbox in the database, so that each is delivered once per token,
// threshold and destination across every instance and restart:
//
//   - An event row exists once per token, event and threshold (a unique key): the due check of
//     every instance may find the same expiry due, only one row results. Events that come from
//     a change (a revocation, a rotation) are written in that change's own transaction.
//   - Each event gets one delivery row per destination (again a unique key), which one instance
//     at a time claims with a lease: a conditional UPDATE whose affected-row count says who won.
//     That needs no SELECT … FOR UPDATE, and so holds on a Galera cluster too, where such locks
//     are not seen by the other nodes (a conflicting commit fails certification instead, and
//     the loser simply tries again at the next check).
//   - A failed delivery is retried with exponential backoff until RetryWindow after it was
//     made, then marked failed.
//
// Delivery is at least once: an instance that dies after the receiver answered but before it
// recorded the delivery leaves the lease to expire, and another instance sends it again. Every
// request carries the delivery's id (CodeMetrics-Delivery) for receivers that deduplicate.
// No payload, log line or delivery row ever holds a token value.
package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
)

// Events. Each is one call to enqueue: a change that causes one writes it in its own
// transaction (the store's enqueueNotification), and the due check finds the time-driven ones.
const (
	TokenExpiring   = "token.expiring"
	TokenExpired    = "token.expired"
	TokenRevoked    = "token.revoked"
	TokenRotated    = "token.rotated"
	TokenGraceEnded = "token.grace_ended"
	// TokenLeaked: a token was reported leaked (POST /api/tokens/report-leak) and revoked.
	TokenLeaked = "token.leaked"
	// TokenEndedUsed: a token that stopped working (revoked, expired, rotated past its grace
	// period) is still presented; raised at most once per token an hour.
	TokenEndedUsed = "token.ended_token_used"
	// Test is what "Send a test" sends; it has no token.
	Test = "notification.test"
)

// ThresholdDays are the days before expiry at which token.expiring is sent, nearest first. A
// token found with less time left than a threshold gets only the nearest one it is inside
// (created with 5 days left: the 7-day warning at once, then the 1-day one).
var ThresholdDays = []int{1, 7, 30}

// Tuning of delivery.
const (
	// RetryWindow is how long a failed delivery is retried, from when it was made.
	RetryWindow = 24 * time.Hour
	// FirstRetry is the wait after the first failure; each further failure doubles it, up to
	// MaxBackoff.
	FirstRetry = 30 * time.Second
	MaxBackoff = time.Hour
	// Lease is how long a claim on a delivery keeps other instances off it: far longer than
	// one attempt (Timeout), so only an instance that died leaves one to expire.
	Lease = 2 * time.Minute
	// Timeout bounds one attempt: the webhook's answer, or the whole SMTP exchange.
	Timeout = 10 * time.Second
	// ExpiredWithin: token.expired is sent for tokens that expired this recently, so turning
	// notifications on does not announce every token that ever expired.
	ExpiredWithin = 24 * time.Hour
)

// Delivery statuses.
const (
	Pending   = "pending"
	Delivered = "delivered"
	Failed    = "failed"
)

// Destination kinds.
const (
	KindWebhook = "webhook"
	KindEmail   = "email"
)

// Event is one thing to tell every destination: metadata of a token, never its value.
type Event struct {
	ID      int64
	Kind    string
	TokenID string // "" for a test
	Subject string
	// ServiceUser is who the token belongs to (its subject until tokens belong to service users).
	ServiceUser string
	// Expires is when the token stops (or stopped) working: its expiry, or for a rotated token
	// the end of its grace period.
	Expires time.Time
	// ThresholdDays is the warning's threshold for token.expiring (30, 7 or 1); for
	// token.ended_token_used the hour it was raised in (unix hours), which the unique key of
	// events needs to keep one per hour; else 0.
	ThresholdDays int
	// Actor is who revoked or rotated the token, or sent the test; Reason why it was revoked.
	Actor  string
	Reason string
	// Address is where an ended token was last presented from (token.ended_token_used).
	Address   string
	CreatedAt time.Time
}

// Delivery is one event on its way to one destination.
type Delivery struct {
	ID    int64
	Event Event
	// DestinationKey identifies the destination ("webhook:<hash of the URL>", "email:<address>");
	// Destination is what is shown of it (a webhook's URL without its path).
	DestinationKey string
	Destination    string
	Kind           string
	Status         string
	Attempts       int
	NextAttemptAt  time.Time
	LastError      string
	CreatedAt      time.Time
	LastAttemptAt  *time.Time
	DeliveredAt    *time.Time
}

// Target is a destination as the outbox knows it.
type Target struct {
	Key, Label, Kind string
}

// Outcome is the result of one attempt.
type Outcome struct {
	At     time.Time
	Status string // Delivered, Pending (to be retried at Next) or Failed
	Next   time.Time
	// Error is why the attempt failed, without secrets and at most MaxErrorLength characters.
	Error string
}

// MaxErrorLength bounds a stored error, in characters.
const MaxErrorLength = 300

// DeliveryQuery selects deliveries, newest first.
type DeliveryQuery struct {
	Limit  int
	Before int64 // continue below this delivery id; 0 starts at the newest
}

// Store is what the notifier needs from persistence.
type Store interface {
	// EnqueueDue writes the events due at now, each at most once ever: token.expiring for the
	// active tokens inside a threshold (the nearest one only), token.expired for tokens that
	// expired after expiredSince. It returns how many it wrote.
	EnqueueDue(ctx context.Context, now time.Time, thresholdDays []int, expiredSince time.Time) (int, error)
	// FanOut gives every event made since since (tests excepted) a pending delivery to each
	// target lacking one, due at now.
	FanOut(ctx context.Context, since, now time.Time, targets []Target) (int, error)
	// DueDeliveries returns up to limit pending deliveries due at now that nobody holds a
	// claim on.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]int64, error)
	// ClaimDelivery claims a due, unclaimed delivery for by until until: ok is false when it is
	// not due or another instance holds it.
	ClaimDelivery(ctx context.Context, id int64, by string, now, until time.Time) (d Delivery, ok bool, err error)
	// FinishDelivery records an attempt by the holder of the claim and releases it; Conflict
	// when by no longer holds it.
	FinishDelivery(ctx context.Context, id int64, by string, o Outcome) error
	// InsertTest stores a test event and one delivery per target, claimed by by until until.
	InsertTest(ctx context.Context, ev Event, targets []Target, by string, until time.Time) ([]Delivery, error)
	// ListDeliveries returns deliveries newest first.
	ListDeliveries(ctx context.Context, q DeliveryQuery) ([]Delivery, error)
}

// Options configure a Notifier.
type Options struct {
	Webhooks []string
	// WebhookSecret signs webhook requests (CodeMetrics-Signature); unsigned when empty.
	WebhookSecret []byte
	// Email is the mail server, nil when email is off; Emails who receives.
	Email  *SMTP
	Emails []string
	// PublicURL links the messages to the portal.
	PublicURL string
	Version   string
	// Interval is how often Run checks for due events.
	Interval time.Duration
	Now      func() time.Time
	Log      *slog.Logger
	// Transport sends webhooks (tests); http.DefaultTransport's settings when nil.
	Transport webhookTransport
}

// Notifier finds due events and delivers them.
type Notifier struct {
	store    Store
	dests    []*Destination
	byKey    map[string]*Destination
	scrub    func(string) string
	now      func() time.Time
	log      *slog.Logger
	interval time.Duration
	// instance names this process in claims: another process, or this one after a restart,
	// never holds its claims.
	instance string
	signed   bool
}

// New returns a notifier over store. Its destinations are the configured webhooks, then the
// email addresses.
func New(store Store, opt Options) (*Notifier, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Interval <= 0 {
		opt.Interval = time.Minute
	}
	n := &Notifier{
		store: store, now: opt.Now, log: opt.Log, interval: opt.Interval, instance: instanceName(),
		byKey: map[string]*Destination{}, signed: len(opt.WebhookSecret) > 0,
	}
	dests, secrets, err := destinations(opt)
	if err != nil {
		return nil, err
	}
	n.dests = dests
	for _, d := range dests {
		n.byKey[d.Key] = d
	}
	n.scrub = scrubber(secrets)
	return n, nil
}

// instanceName is the host's name and 48 random bits: unique per process.
func instanceName() string {
	host, _ := os.Hostname()
	if len(host) > 40 {
		host = host[:40]
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// Enabled reports whether any destination is configured.
func (n *Notifier) Enabled() bool { return len(n.dests) > 0 }

// Signed reports whether webhook requests are signed.
func (n *Notifier) Signed() bool { return n.signed }

// Interval is how often Run checks.
func (n *Notifier) Interval() time.Duration { return n.interval }

// Destinations lists the configured destinations, as they may be shown.
func (n *Notifier) Destinations() []Target {
	out := make([]Target, len(n.dests))
	for i, d := range n.dests {
		out[i] = d.Target
	}
	return out
}

// Run checks for due events every interval until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	if !n.Enabled() {
		return
	}
	t := time.NewTicker(n.interval)
	defer t.Stop()
	for {
		if err := n.RunOnce(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("notifications: the due check failed; it runs again at the next interval", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce does what one tick of Run does: it writes the events now due, gives each a delivery
// per destination, and attempts every delivery that is due and unclaimed.
func (n *Notifier) RunOnce(ctx context.Context) error {
	if !n.Enabled() {
		return nil
	}
	now := n.now().UTC()
	if made, err := n.store.EnqueueDue(ctx, now, ThresholdDays, now.Add(-ExpiredWithin)); err != nil {
		return err
	} else if made > 0 {
		n.log.Info("notifications: events due", "events", made)
	}
	if _, err := n.store.FanOut(ctx, now.Add(-RetryWindow), now, n.Destinations()); err != nil {
		return err
	}
	return n.deliverDue(ctx)
}

// deliverDue claims and attempts due deliveries, one at a time, until none is left.
func (n *Notifier) deliverDue(ctx context.Context) error {
	const batch, maxRounds = 20, 50
	for range maxRounds {
		ids, err := n.store.DueDeliveries(ctx, n.now().UTC(), batch)
		if err != nil || len(ids) == 0 {
			return err
		}
		progress := false
		for _, id := range ids {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			now := n.now().UTC()
			d, ok, err := n.store.ClaimDelivery(ctx, id, n.instance, now, now.Add(Lease))
			if err != nil {
				// A Galera node refusing a conflicting claim ends up here: another node has it.
				n.log.Debug("notifications: could not claim a delivery", "delivery", id, "err", err)
				continue
			}
			if !ok {
				continue
			}
			progress = true
			n.attempt(ctx, d, true)
		}
		if !progress {
			return nil
		}
	}
	return nil
}

// attempt sends d once and records the outcome: retried later when retry allows and the
// window is open, else delivered or failed for good.
func (n *Notifier) attempt(ctx context.Context, d Delivery, retry bool) Outcome {
	var err error
	if dest := n.byKey[d.DestinationKey]; dest == nil {
		err = errors.New("this destination is not configured on the instance that tried it")
	} else {
		actx, cancel := context.WithTimeout(ctx, Timeout)
		err = dest.send(actx, d, n.now().UTC())
		cancel()
	}
	o := Outcome{At: n.now().UTC(), Status: Delivered}
	if err != nil {
		o.Error = n.scrub(err.Error())
		o.Status = Failed
		if next, ok := NextAttempt(d.CreatedAt, o.At, d.Attempts+1); ok && retry {
			o.Status, o.Next = Pending, next
		}
	}
	if ferr := n.store.FinishDelivery(context.WithoutCancel(ctx), d.ID, n.instance, o); ferr != nil {
		n.log.Warn("notifications: could not record a delivery attempt", "delivery", d.ID, "err", ferr)
	}
	attrs := []any{"event", d.Event.Kind, "token_id", d.Event.TokenID, "destination", d.Destination, "delivery", d.ID, "attempt", d.Attempts + 1}
	switch {
	case o.Status == Delivered:
		n.log.Info("notification delivered", attrs...)
	case !retry:
		n.log.Warn("test notification not delivered", append(attrs, "error", o.Error)...)
	case o.Status == Pending:
		n.log.Warn("notification not delivered: will retry", append(attrs, "error", o.Error, "next_attempt", o.Next.Format(time.RFC3339))...)
	default:
		n.log.Error("notification not delivered: gave up", append(attrs, "error", o.Error)...)
	}
	return o
}

// NextAttempt is when a delivery made at created, whose attempt number attempts failed at at,
// is tried again: FirstRetry after the first failure, twice as long after each further one,
// at most MaxBackoff, and one last time at the end of RetryWindow. ok is false once the window
// has closed: the delivery has failed.
func NextAttempt(created, at time.Time, attempts int) (next time.Time, ok bool) {
	deadline := created.Add(RetryWindow)
	if !at.Before(deadline) {
		return time.Time{}, false
	}
	wait := MaxBackoff
	if attempts < 20 {
		wait = min(FirstRetry<<(max(attempts, 1)-1), MaxBackoff)
	}
	next = at.Add(wait)
	if next.After(deadline) {
		next = deadline
	}
	return next, true
}

// Result is what a test send did at one destination.
type Result struct {
	Target
	Status string // Delivered or Failed
	Error  string
}

// SendTest sends a test event to every destination at once, recording each in the delivery log,
// and says how each went. A test is not retried: the person who sent it is looking.
func (n *Notifier) SendTest(ctx context.Context, by string) ([]Result, error) {
	if !n.Enabled() {
		return nil, apperr.New(apperr.NotificationsOff, "no notification destination is configured: set NOTIFY_WEBHOOK_URLS, or SMTP_URL and NOTIFY_EMAILS")
	}
	now := n.now().UTC()
	ev := Event{Kind: Test, Actor: by, Expires: now, CreatedAt: now}
	ds, err := n.store.InsertTest(ctx, ev, n.Destinations(), n.instance, now.Add(Lease))
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Go(func() {
			o := n.attempt(ctx, d, false)
			out[i] = Result{Target: Target{Key: d.DestinationKey, Label: d.Destination, Kind: d.Kind}, Status: o.Status, Error: o.Error}
		})
	}
	wg.Wait()
	order := map[string]int{}
	for i, d := range n.dests {
		order[d.Key] = i
	}
	slices.SortFunc(out, func(a, b Result) int { return order[a.Key] - order[b.Key] })
	return out, nil
}

// MaxList is the most deliveries one Deliveries call returns.
const MaxList = 1000

// Deliveries returns the delivery log, newest first: 50 unless the query says, MaxList at most.
func (n *Notifier) Deliveries(ctx context.Context, q DeliveryQuery) ([]Delivery, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, MaxList)
	return n.store.ListDeliveries(ctx, q)
}
