package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/gin-gonic/gin"
)

// timeFormat is RFC 3339 in UTC with milliseconds, as the docs show: 2024-01-15T10:30:00.000Z.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func formatTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := formatTime(*t)
	return &s
}

type createTokenRequest struct {
	Subject *string  `json:"subject"`
	Scopes  []string `json:"scopes"`
}

type createTokenResponse struct {
	AccessToken string `json:"accessToken"`
	TokenID     string `json:"tokenId"`
	Expires     string `json:"expires"`
}

// tokenResponse is one entry of GET /api/tokens, with the field names of the docs.
type tokenResponse struct {
	TokenID   string   `json:"tokenId"`
	Created   string   `json:"created"`
	Expires   string   `json:"expires"`
	Sub       string   `json:"sub"`
	CreatedBy string   `json:"createdBy"`
	LastUsed  *string  `json:"lastUsed"`
	Scopes    []string `json:"scopes"`
}

func toTokenResponse(t token.Token) tokenResponse {
	return tokenResponse{
		TokenID: t.ID, Created: formatTime(t.CreatedAt), Expires: formatTime(t.ExpiresAt),
		Sub: t.Subject, CreatedBy: t.CreatedBy, LastUsed: formatTimePtr(t.LastUsedAt), Scopes: t.Scopes,
	}
}

func (a *api) createToken(c *gin.Context) {
	var req createTokenRequest
	if !decodeJSON(c, &req) {
		return
	}
	if req.Subject == nil {
		fail(c, apperr.New(apperr.Invalid, "subject is required: name the service or application that will use the token"))
		return
	}
	created, err := a.Tokens.Create(c.Request.Context(), token.CreateRequest{
		Subject: *req.Subject, Scopes: req.Scopes, CreatedBy: principalOf(c).actor(),
	})
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, createTokenResponse{
		AccessToken: created.Value, TokenID: created.Token.ID, Expires: formatTime(created.Token.ExpiresAt),
	})
}

// maxPageSize caps ?limit on GET /api/tokens.
const maxPageSize = 1000

// listTokens returns the docs' plain array of active tokens. With ?limit it returns one page and,
// when more may follow, a Link header with rel="next" (?cursor continues from there).
func (a *api) listTokens(c *gin.Context) {
	limit := 0
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			fail(c, apperr.New(apperr.Invalid, "limit must be a whole number from 1 to %d", maxPageSize))
			return
		}
		limit = n
	}
	var after *token.Cursor
	if v := c.Query("cursor"); v != "" {
		cur, err := decodeCursor(v)
		if err != nil {
			fail(c, apperr.New(apperr.Invalid, "cursor is not one this server gave out: start again without it"))
			return
		}
		after = cur
	}
	tokens, err := a.Tokens.List(c.Request.Context(), limit, after)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]tokenResponse, len(tokens))
	for i, t := range tokens {
		out[i] = toTokenResponse(t)
	}
	if limit > 0 && len(tokens) == limit {
		last := tokens[len(tokens)-1]
		next := url.Values{"limit": {strconv.Itoa(limit)}, "cursor": {encodeCursor(token.Cursor{CreatedAt: last.CreatedAt, ID: last.ID})}}
		c.Header("Link", fmt.Sprintf(`</api/tokens?%s>; rel="next"`, next.Encode()))
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

func (a *api) revokeToken(c *gin.Context) {
	if _, err := a.Tokens.Revoke(c.Request.Context(), c.Param("tokenId"), principalOf(c).actor()); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type cursorJSON struct {
	CreatedMS int64  `json:"c"`
	ID        string `json:"i"`
}

func encodeCursor(cur token.Cursor) string {
	b, _ := json.Marshal(cursorJSON{CreatedMS: cur.CreatedAt.UnixMilli(), ID: cur.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*token.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	var cj cursorJSON
	if err := json.Unmarshal(b, &cj); err != nil || cj.ID == "" || len(cj.ID) > 64 {
		return nil, fmt.Errorf("bad cursor")
	}
	return &token.Cursor{CreatedAt: time.UnixMilli(cj.CreatedMS), ID: cj.ID}, nil
}
