package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/codemetrics/codemetrics/backend/internal/config"

	"github.com/gin-gonic/gin"
)

type systemConfigResponse struct {
	Version                string `json:"version"`
	DatabaseDriver         string `json:"databaseDriver"`
	ServiceTokenTTL        string `json:"serviceTokenTtl"`
	ServiceTokenTTLSeconds int64  `json:"serviceTokenTtlSeconds"`
	TokenIssuer            string `json:"tokenIssuer"`
	PublicURL              string `json:"publicUrl"`
	SessionTTL             string `json:"sessionTtl"`
	SessionTTLSeconds      int64  `json:"sessionTtlSeconds"`
	IdentityProvider       string `json:"identityProvider"`
}

// systemConfigJSON encodes the configuration in force, without a secret in it. It never
// changes while the process runs, so it is encoded once.
func systemConfigJSON(cfg config.Config, version string) []byte {
	b, err := json.Marshal(systemConfigResponse{
		Version:                version,
		DatabaseDriver:         cfg.DatabaseDriver,
		ServiceTokenTTL:        cfg.ServiceTokenTTL.String(),
		ServiceTokenTTLSeconds: int64(cfg.ServiceTokenTTL.Seconds()),
		TokenIssuer:            cfg.TokenIssuer,
		PublicURL:              cfg.PublicURL.String(),
		SessionTTL:             cfg.SessionTTL.String(),
		SessionTTLSeconds:      int64(cfg.SessionTTL.Seconds()),
		IdentityProvider:       cfg.OIDCIssuerURL,
	})
	if err != nil {
		panic(err) // strings and numbers only
	}
	return b
}

func (a *api) systemConfig(c *gin.Context) {
	c.Data(http.StatusOK, "application/json; charset=utf-8", a.configJSON)
}
