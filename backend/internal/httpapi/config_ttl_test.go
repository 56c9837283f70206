package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestServiceTokenTTL checks SERVICE_TOKEN_TTL, in hours or days, sets the lifetime of new
// tokens, and that the default is a year.
func TestServiceTokenTTL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		setting string
		want    time.Duration
	}{
		{"", 365 * 24 * time.Hour},
		{"720h", 30 * 24 * time.Hour},
		{"30d", 30 * 24 * time.Hour},
	}
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		for _, c := range cases {
			t.Run("ttl="+c.setting, func(t *testing.T) {
				settings := testenv.Settings{}
				if c.setting != "" {
					settings.Env = map[string]string{"SERVICE_TOKEN_TTL": c.setting}
				}
				e := testenv.Start(t, db, settings)
				admin := e.SignIn("admin@example.com", true)
				created := e.CreateToken(admin, map[string]any{"subject": "ttl"})

				_, claims := jwtParts(t, created.AccessToken)
				iat, exp := numClaim(t, claims, "iat"), numClaim(t, claims, "exp")
				if got := exp - iat; got != int64(c.want.Seconds()) {
					t.Errorf("exp - iat = %d s, want %d s", got, int64(c.want.Seconds()))
				}
				wantExp := testenv.Epoch.Add(c.want).UTC().Format(apiTimeFormat)
				if created.Expires != wantExp {
					t.Errorf("expires %q, want %q", created.Expires, wantExp)
				}
				// The cases share a database: find this case's token.
				listed := false
				for _, tk := range listTokens(t, e, admin) {
					if tk.TokenID == created.TokenID {
						listed = true
						if tk.Expires != wantExp {
							t.Errorf("listed expires %q, want %q", tk.Expires, wantExp)
						}
					}
				}
				if !listed {
					t.Errorf("token %s is not listed", created.TokenID)
				}

				r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(created.AccessToken))
				var cfg struct {
					TTLSeconds int64 `json:"serviceTokenTtlSeconds"`
				}
				r.JSON(t, &cfg)
				if r.Status != http.StatusOK || cfg.TTLSeconds != int64(c.want.Seconds()) {
					t.Errorf("system config: %d %s, want serviceTokenTtlSeconds %d", r.Status, r.Body, int64(c.want.Seconds()))
				}
			})
		}
	})
}
