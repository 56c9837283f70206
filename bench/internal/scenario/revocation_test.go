package scenario

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestRevocationTrial runs a trial against two fake instances: A refuses the token as soon as
// it is revoked, B 100 ms later, as a replica reading the feed would.
func TestRevocationTrial(t *testing.T) {
	var revokedAt atomic.Int64
	instance := func(lag time.Duration) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodDelete {
				if r.Header.Get("Authorization") != "Bearer admin" || r.URL.Path != "/api/tokens/tid" {
					w.WriteHeader(http.StatusForbidden)
					return
				}
				revokedAt.Store(time.Now().UnixNano())
				w.WriteHeader(http.StatusNoContent)
				return
			}
			if at := revokedAt.Load(); at != 0 && time.Since(time.Unix(0, at)) >= lag {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Write([]byte(`{}`))
		}))
	}
	a, b := instance(0), instance(100*time.Millisecond)
	defer a.Close()
	defer b.Close()
	res, err := revocationTrial(context.Background(), a.URL, b.URL, Token{AccessToken: "tok", TokenID: "tid"}, "admin", 200*time.Millisecond, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.DeleteStatus != http.StatusNoContent || res.AOKBefore == 0 || res.BOKBefore == 0 || res.AOKAfter != 0 || res.ARefusedAfter == 0 || res.BOKAfterRefusal != 0 || res.Errors != 0 {
		t.Fatalf("unexpected counts: %+v", res)
	}
	// B refuses no earlier than its lag after the revocation, which A made after the DELETE was
	// sent (times are from when its answer was read, DeleteMs later).
	if res.BFirstRefusalMs < 0 || res.DeleteMs+res.BFirstRefusalMs < 100 || res.BLastOKStartMs >= res.BFirstRefusalMs {
		t.Fatalf("B refused at +%.1f ms (DELETE took %.1f ms, last success began +%.1f ms), want 100 ms after the DELETE was sent or later",
			res.BFirstRefusalMs, res.DeleteMs, res.BLastOKStartMs)
	}
}
