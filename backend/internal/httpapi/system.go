package httpapi

import (
	"net/http"

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

// systemConfig returns the configuration in force, without a secret in it.
func (a *api) systemConfig(c *gin.Context) {
	cfg := a.Config
	c.JSON(http.StatusOK, systemConfigResponse{
		Version:                a.Version,
		DatabaseDriver:         cfg.DatabaseDriver,
		ServiceTokenTTL:        cfg.ServiceTokenTTL.String(),
		ServiceTokenTTLSeconds: int64(cfg.ServiceTokenTTL.Seconds()),
		TokenIssuer:            cfg.TokenIssuer,
		PublicURL:              cfg.PublicURL.String(),
		SessionTTL:             cfg.SessionTTL.String(),
		SessionTTLSeconds:      int64(cfg.SessionTTL.Seconds()),
		IdentityProvider:       cfg.OIDCIssuerURL,
	})
}
