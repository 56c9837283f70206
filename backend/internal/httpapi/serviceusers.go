package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/gin-gonic/gin"
)

// serviceUserResponse is a service user as the API shows it.
type serviceUserResponse struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Scopes      []string `json:"scopes"`
	Workloads   []string `json:"workloads"`
	// AllowedCIDRs bind its tokens to networks; empty: anywhere.
	AllowedCIDRs []string `json:"allowedCidrs"`
	Disabled     bool     `json:"disabled"`
	Created      string   `json:"created"`
	CreatedBy    string   `json:"createdBy"`
	TokenCount   int64    `json:"tokenCount"`
	LastUsed     *string  `json:"lastUsed"`
	// NeedsReview: made by the migration from a subject's tokens, not yet edited by an administrator.
	NeedsReview bool `json:"needsReview"`
}

// serviceUserDetail is one service user with its active tokens (entries of GET /api/tokens).
type serviceUserDetail struct {
	serviceUserResponse
	Tokens []json.RawMessage `json:"tokens"`
}

func toServiceUserResponse(u token.ServiceUser) serviceUserResponse {
	return serviceUserResponse{
		ID: u.ID, Name: u.Name, Description: u.Description, Scopes: nonNil(u.Scopes), Workloads: nonNil(u.Workloads),
		AllowedCIDRs: nonNil(u.AllowedCIDRs), Disabled: u.Disabled, Created: formatTime(u.CreatedAt), CreatedBy: u.CreatedBy, TokenCount: u.TokenCount,
		LastUsed: formatTimePtr(u.LastUsedAt), NeedsReview: u.NeedsReview,
	}
}

type createServiceUserRequest struct {
	Name        *string  `json:"name"`
	Description string   `json:"description"`
	Scopes      []string `json:"scopes"`
	Workloads   []string `json:"workloads"`
	// AllowedCIDRs: see token.NormalizeCIDRs.
	AllowedCIDRs []string `json:"allowedCidrs"`
}

// patchServiceUserRequest: a field left out (or null) stays as it is.
type patchServiceUserRequest struct {
	Description *string   `json:"description"`
	Scopes      *[]string `json:"scopes"`
	Workloads   *[]string `json:"workloads"`
	Disabled    *bool     `json:"disabled"`
	// AllowedCIDRs replaces the networks; [] for anywhere.
	AllowedCIDRs *[]string `json:"allowedCidrs"`
}

func (a *api) createServiceUser(c *gin.Context) {
	var req createServiceUserRequest
	if !decodeJSON(c, &req) {
		return
	}
	if req.Name == nil {
		fail(c, apperr.New(apperr.InvalidField, "name is required: name the service user, such as the pipeline or application that will use its tokens"))
		return
	}
	u, err := a.Tokens.CreateUser(c.Request.Context(), token.UserRequest{
		Name: *req.Name, Description: req.Description, Scopes: req.Scopes, Workloads: req.Workloads, AllowedCIDRs: req.AllowedCIDRs,
	}, auditContext(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, toServiceUserResponse(u))
}

// serviceUserPosition is where a page of service users ends: its last user's name and id.
type serviceUserPosition struct {
	Name string `json:"n"`
	ID   int64  `json:"i"`
}

func (p serviceUserPosition) valid() bool { return p.ID >= 1 }

// listServiceUsers returns live service users by name, ?name= (contains, any case) filtering,
// paged as paging.go says, with X-Total-Count.
func (a *api) listServiceUsers(c *gin.Context) {
	servePage(c, "service-users", []string{"name"}, func(limit int, after *serviceUserPosition) ([]token.ServiceUser, int64, error) {
		q := token.UserListQuery{Name: c.Query("name"), Limit: limit}
		if after != nil {
			q.After = &token.UserCursor{Name: after.Name, ID: after.ID}
		}
		ctx := c.Request.Context()
		users, err := a.Tokens.ListUsers(ctx, q)
		if err != nil {
			return nil, 0, err
		}
		total, err := a.Tokens.CountUsers(ctx, q)
		return users, total, err
	}, toServiceUserResponse, func(u token.ServiceUser) serviceUserPosition { return serviceUserPosition{Name: u.Name, ID: u.ID} })
}

// serviceUserID reads the path's service user id; anything but a positive number names no
// service user.
func serviceUserID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("serviceUserId"), 10, 64)
	if err != nil || id < 1 {
		fail(c, apperr.New(apperr.NotFound, "no service user with that id"))
		return 0, false
	}
	return id, true
}

// getServiceUser returns one service user with its active tokens, newest first.
func (a *api) getServiceUser(c *gin.Context) {
	id, ok := serviceUserID(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	u, err := a.Tokens.GetUser(ctx, id)
	if err != nil {
		fail(c, notFoundUser(err))
		return
	}
	tokens, err := a.Tokens.List(ctx, token.ListQuery{ServiceUserID: u.ID})
	if err != nil {
		fail(c, err)
		return
	}
	out := serviceUserDetail{serviceUserResponse: toServiceUserResponse(u), Tokens: make([]json.RawMessage, len(tokens))}
	for i, t := range tokens {
		out.Tokens[i] = appendTokenJSON(nil, t, a.Now(), a.Tokens.StaleBefore(a.Now()))
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// patchServiceUser changes a service user: every one of its tokens follows, on every instance
// within one poll of the service-user feed.
func (a *api) patchServiceUser(c *gin.Context) {
	id, ok := serviceUserID(c)
	if !ok {
		return
	}
	var req patchServiceUserRequest
	if !decodeJSON(c, &req) {
		return
	}
	ctx := c.Request.Context()
	_, err := a.Tokens.UpdateUser(ctx, id, token.UserPatch{
		Description: req.Description, Scopes: req.Scopes, Workloads: req.Workloads, Disabled: req.Disabled, AllowedCIDRs: req.AllowedCIDRs,
	}, auditContext(c))
	if err != nil {
		fail(c, notFoundUser(err))
		return
	}
	u, err := a.Tokens.GetUser(ctx, id)
	if err != nil {
		fail(c, notFoundUser(err))
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, toServiceUserResponse(u))
}

// deleteServiceUser deletes a service user: 409 while it has active tokens, unless
// ?revokeTokens=true revokes them with it.
func (a *api) deleteServiceUser(c *gin.Context) {
	id, ok := serviceUserID(c)
	if !ok {
		return
	}
	revoke := false
	switch v := c.Query("revokeTokens"); v {
	case "", "false":
	case "true":
		revoke = true
	default:
		fail(c, apperr.New(apperr.InvalidParameter, "revokeTokens must be true or false"))
		return
	}
	if _, err := a.Tokens.DeleteUser(c.Request.Context(), id, revoke, auditContext(c)); err != nil {
		fail(c, notFoundUser(err))
		return
	}
	c.Status(http.StatusNoContent)
}

func notFoundUser(err error) error {
	if apperr.Is(err, apperr.NotFound) {
		return apperr.New(apperr.NotFound, "no service user with that id")
	}
	return err
}

// deleteRun deletes one run (administrators): a run recorded by mistake or by a stolen token.
// Workload and run ids holding "/" are sent with it encoded as %2F.
func (a *api) deleteRun(c *gin.Context) {
	if _, err := a.Pipeline.Delete(c.Request.Context(), c.Param("workload"), c.Param("runId"), auditContext(c)); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// serviceUser names the service user acting, "" for a person.
func (p *principal) serviceUser() string {
	if p == nil || p.service == nil {
		return ""
	}
	return p.access.ServiceUser()
}

// mayRecord is the one check of a run's workload before it is recorded, for every endpoint
// that records runs (call it for each run): a service token records only into its service
// user's workloads, so a workload is created on first use only by a service user that names
// it (or holds every workload). Administrators may record anywhere. A workload name that is
// not valid is left to the run's validation, which says why.
func mayRecord(p *principal, workload string) error {
	if p == nil || p.service == nil || pipeline.CheckWorkloadName(workload) != nil {
		return nil
	}
	return p.access.CheckWorkload("record a run into", workload)
}

// mayRead refuses reading a workload the caller's service user does not hold.
func mayRead(p *principal, workload string) error {
	if p == nil || p.service == nil || pipeline.CheckWorkloadName(workload) != nil {
		return nil
	}
	return p.access.CheckWorkload("read", workload)
}

// visibleWorkloads is what a list of runs may show to p: with a workload filter, that workload
// if p may read it (else the error that refuses the request); without one, nil (every workload)
// for an administrator or a service user holding every workload, else the service user's
// workloads.
func visibleWorkloads(p *principal, filter string) ([]string, error) {
	if p == nil || p.service == nil || p.access.AllWorkloads() {
		return nil, nil
	}
	if filter != "" {
		return nil, mayRead(p, filter)
	}
	return p.access.Workloads(), nil
}
