package httpapi

import (
	"net/http"
	"slices"

	"github.com/codemetrics/codemetrics/backend/internal/notify"
	"github.com/gin-gonic/gin"
)

// ActionTestNotification is the audit action of "Send a test".
const ActionTestNotification = "notification.test_sent"

type destinationResponse struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Destination string `json:"destination"`
}

// notificationSettingsResponse is what an administrator may see of the notification settings:
// never the webhook secret, a webhook's path or the mail server's password.
type notificationSettingsResponse struct {
	Destinations         []destinationResponse `json:"destinations"`
	WebhookSigned        bool                  `json:"webhookSigned"`
	EmailServer          *string               `json:"emailServer"`
	CheckInterval        string                `json:"checkInterval"`
	CheckIntervalSeconds int64                 `json:"checkIntervalSeconds"`
	ThresholdDays        []int                 `json:"thresholdDays"`
}

func toDestinations(ts []notify.Target) []destinationResponse {
	out := make([]destinationResponse, len(ts))
	for i, t := range ts {
		out[i] = destinationResponse{ID: t.Key, Kind: t.Kind, Destination: t.Label}
	}
	return out
}

func (a *api) notificationDestinations(c *gin.Context) {
	body := notificationSettingsResponse{
		Destinations:         toDestinations(a.Notifier.Destinations()),
		WebhookSigned:        a.Notifier.Signed() && len(a.Config.NotifyWebhookURLs) > 0,
		CheckInterval:        a.Notifier.Interval().String(),
		CheckIntervalSeconds: int64(a.Notifier.Interval().Seconds()),
		ThresholdDays:        slices.Sorted(slices.Values(notify.ThresholdDays)),
	}
	slices.Reverse(body.ThresholdDays) // farthest first, as people count down
	if s := a.Config.RedactedSMTP(); s != "" {
		body.EmailServer = &s
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, body)
}

type testResultResponse struct {
	destinationResponse
	Status string  `json:"status"`
	Error  *string `json:"error"`
}

type testNotificationResponse struct {
	Results []testResultResponse `json:"results"`
}

// sendTestNotification sends a test to every destination and answers how each went (200 even
// when some failed: the results say which).
func (a *api) sendTestNotification(c *gin.Context) {
	who := auditContext(c)
	results, err := a.Notifier.SendTest(c.Request.Context(), who.Actor)
	if err != nil {
		fail(c, err)
		return
	}
	out := testNotificationResponse{Results: make([]testResultResponse, len(results))}
	delivered := 0
	for i, r := range results {
		out.Results[i] = testResultResponse{
			destinationResponse: destinationResponse{ID: r.Key, Kind: r.Kind, Destination: r.Label},
			Status:              r.Status, Error: nullable(r.Error),
		}
		if r.Status == notify.Delivered {
			delivered++
		}
	}
	a.record(c, who, ActionTestNotification, "", map[string]any{"destinations": len(results), "delivered": delivered})
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

type deliveryResponse struct {
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

func toDeliveryResponse(d notify.Delivery) deliveryResponse {
	r := deliveryResponse{
		ID: d.ID, Event: d.Event.Kind, TokenID: nullable(d.Event.TokenID), Subject: nullable(d.Event.Subject),
		Destination: d.Destination, Kind: d.Kind, Status: d.Status, Attempts: d.Attempts, LastError: nullable(d.LastError),
		Created: formatTime(d.CreatedAt), LastAttempt: formatTimePtr(d.LastAttemptAt),
	}
	if d.Event.Kind == notify.TokenExpiring && d.Event.ThresholdDays > 0 { // token.ended_token_used keeps its hour there
		days := d.Event.ThresholdDays
		r.ThresholdDays = &days
	}
	if d.Status == notify.Pending {
		r.NextAttempt = formatTimePtr(&d.NextAttemptAt)
	}
	return r
}

// The delivery log must return a page of maxPageSize whole (see the same check in paging.go).
var _ [notify.MaxList - maxPageSize]struct{}

// listDeliveries returns the delivery log newest first, paged as paging.go says. No
// X-Total-Count: the log only grows.
func (a *api) listDeliveries(c *gin.Context) {
	servePage(c, "notification-deliveries", nil, func(limit int, before *idPosition) ([]notify.Delivery, int64, error) {
		q := notify.DeliveryQuery{Limit: limit}
		if before != nil {
			q.Before = before.ID
		}
		ds, err := a.Notifier.Deliveries(c.Request.Context(), q)
		return ds, -1, err
	}, toDeliveryResponse, func(d notify.Delivery) idPosition { return idPosition{ID: d.ID} })
}

// nullable is s, or nil (JSON null) when it is empty.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
