package httpapi

import (
	"net/http"

	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/gin-gonic/gin"
)

type recentAdmin struct {
	Email      string `json:"email"`
	Name       string `json:"name"`
	Reason     string `json:"reason"`
	LastSignIn string `json:"lastSignIn"`
}

type accessResponse struct {
	IdentityProvider string        `json:"identityProvider"`
	GroupsClaim      string        `json:"groupsClaim"`
	AdminGroups      []string      `json:"adminGroups"`
	AdminEmails      []string      `json:"adminEmails"`
	RecentAdmins     []recentAdmin `json:"recentAdmins"`
}

// access explains, to administrators, where administrator rights come from and who has used
// them lately (from the audit log's sign-ins).
func (a *api) access(c *gin.Context) {
	cfg := a.Config
	resp := accessResponse{
		IdentityProvider: cfg.OIDCIssuerURL, GroupsClaim: cfg.OIDCGroupsClaim,
		AdminGroups: nonNil(cfg.AdminGroups), AdminEmails: nonNil(cfg.AdminEmails), RecentAdmins: []recentAdmin{},
	}
	events, err := a.Audit.List(c.Request.Context(), audit.Query{Action: actionSignedIn, Limit: 500})
	if err != nil {
		fail(c, err)
		return
	}
	seen := map[string]bool{}
	for _, ev := range events {
		if seen[ev.Actor] || len(resp.RecentAdmins) == 20 {
			continue
		}
		seen[ev.Actor] = true
		name, _ := ev.Details["name"].(string)
		reason, _ := ev.Details["reason"].(string)
		resp.RecentAdmins = append(resp.RecentAdmins, recentAdmin{Email: ev.Actor, Name: name, Reason: reason, LastSignIn: formatTime(ev.At)})
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, resp)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
