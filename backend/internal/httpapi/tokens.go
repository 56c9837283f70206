package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
	// Workloads are a new service user's (see token.CreateRequest).
	Workloads []string `json:"workloads"`
	// ExpiresIn is the lifetime ("30d", "2160h"), at most SERVICE_TOKEN_TTL (its default).
	ExpiresIn   *string `json:"expiresIn"`
	Description *string `json:"description"`
}

type createTokenResponse struct {
	AccessToken string `json:"accessToken"`
	TokenID     string `json:"tokenId"`
	Expires     string `json:"expires"`
}

func (a *api) createToken(c *gin.Context) {
	var req createTokenRequest
	if !decodeJSON(c, &req) {
		return
	}
	if req.Subject == nil {
		fail(c, apperr.New(apperr.InvalidField, "subject is required: name the service or application that will use the token"))
		return
	}
	if req.ExpiresIn != nil && *req.ExpiresIn == "" {
		fail(c, apperr.New(apperr.InvalidField, "expiresIn is empty: leave it out for SERVICE_TOKEN_TTL, or send a lifetime such as \"30d\" or \"2160h\""))
		return
	}
	created, err := a.Tokens.Create(c.Request.Context(), token.CreateRequest{
		Subject: *req.Subject, Scopes: req.Scopes, Workloads: req.Workloads, CreatedBy: principalOf(c).actor(), Audit: auditContext(c),
		ExpiresIn: deref(req.ExpiresIn), Description: deref(req.Description),
	})
	if err != nil {
		fail(c, err)
		return
	}
	if a.Metrics != nil {
		a.Metrics.TokensIssued.Inc()
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, createTokenResponse{
		AccessToken: created.Value, TokenID: created.Token.ID, Expires: formatTime(created.Token.ExpiresAt),
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// tokenPosition is where a page of the token list ends: the sort key of its last token and its id.
type tokenPosition struct {
	AtMS int64  `json:"t"`
	ID   string `json:"i"`
}

// tokenFilterParams are the query parameters that select tokens, in the list and the export.
var tokenFilterParams = []string{"subject", "sort", "status", "serviceUser", "scope", "expiresBefore", "unusedSince", "stale"}

// readTokenFilter reads the token filter of the list and the export, failing the request on a
// bad value: status (see listTokens), subject, sort, serviceUser (a service user id), scope (a
// known scope the tokens hold), expiresBefore and unusedSince (RFC 3339 or YYYY-MM-DD, the
// start of that UTC day; never used counts as unused), stale (true or false).
func readTokenFilter(c *gin.Context) (token.ListQuery, bool) {
	q := token.ListQuery{Subject: c.Query("subject"), Sort: c.Query("sort"), Scope: c.Query("scope")}
	if st, ok := c.GetQuery("status"); ok {
		q.Statuses = strings.Split(st, ",")
		if st == "" {
			fail(c, apperr.New(apperr.InvalidParameter, "status is empty: leave it out for the active tokens, or send active, rotated, expired, revoked or all"))
			return q, false
		}
	}
	if v, ok := c.GetQuery("serviceUser"); ok {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			fail(c, apperr.New(apperr.InvalidParameter, "serviceUser must be a service user id, a whole number of at least 1"))
			return q, false
		}
		q.ServiceUserID = id
	}
	if _, ok := c.GetQuery("scope"); ok && !slices.Contains(token.KnownScopes, q.Scope) {
		fail(c, apperr.New(apperr.InvalidParameter, "scope must be one of %s", strings.Join(token.KnownScopes, ", ")))
		return q, false
	}
	for _, p := range []struct {
		name string
		to   **time.Time
	}{{"expiresBefore", &q.ExpiresBefore}, {"unusedSince", &q.UnusedSince}} {
		v, ok := c.GetQuery(p.name)
		if !ok {
			continue
		}
		t, err := parseFilterTime(v)
		if err != nil {
			fail(c, apperr.New(apperr.InvalidParameter, "%s must be an RFC 3339 time (2024-01-15T10:30:00Z) or a date (2024-01-15, the start of that UTC day)", p.name))
			return q, false
		}
		*p.to = &t
	}
	if v, ok := c.GetQuery("stale"); ok {
		if v != "true" && v != "false" {
			fail(c, apperr.New(apperr.InvalidParameter, "stale must be true or false"))
			return q, false
		}
		b := v == "true"
		q.Stale = &b
	}
	return q, true
}

// parseFilterTime reads an RFC 3339 time or a date, the start of that UTC day.
func parseFilterTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, v)
}

// listTokens returns the docs' plain array of tokens, the active ones unless ?status= asks for
// others. Query parameters, all optional: status (active, rotated, expired, revoked, all; several
// separated by commas), subject (contains, any case), the filters of readTokenFilter, sort (created: newest first; expires:
// soonest first), and the paging of paging.go (without limit, every token). X-Total-Count
// counts the tokens the filter selects.
func (a *api) listTokens(c *gin.Context) {
	q, ok := readTokenFilter(c)
	if !ok {
		return
	}
	var pos tokenPosition
	pg, ok := readPage(c, "tokens", 0, &pos, tokenFilterParams...)
	if !ok {
		return
	}
	q.Limit = pg.Limit
	if pg.HasCursor {
		if pos.ID == "" || len(pos.ID) > 64 {
			fail(c, errCursor())
			return
		}
		q.After = &token.Cursor{At: time.UnixMilli(pos.AtMS), ID: pos.ID}
	}
	ctx := c.Request.Context()
	tokens, err := a.Tokens.List(ctx, q)
	if err != nil {
		fail(c, err)
		return
	}
	total := int64(len(tokens))
	if q.Limit > 0 || q.After != nil {
		if total, err = a.Tokens.Count(ctx, q); err != nil {
			fail(c, err)
			return
		}
	}
	writePageHeaders(c, pg, len(tokens), func() any {
		cur := token.CursorAfter(tokens[len(tokens)-1], q.Sort)
		return tokenPosition{AtMS: cur.At.UnixMilli(), ID: cur.ID}
	}, total)
	// Encoded by hand, for the unpaged list the docs show: on 10,000 tokens, encoding/json
	// (writePage) costs the request about a third more CPU and 10 MB more garbage.
	buf := make([]byte, 0, 64+len(tokens)*640) // an entry with its 30-day series is about 580 bytes
	buf = append(buf, '[')
	now := a.Now()
	staleBefore := a.Tokens.StaleBefore(now)
	for i, t := range tokens {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendTokenJSON(buf, t, now, staleBefore)
	}
	buf = append(buf, ']')
	c.Data(http.StatusOK, "application/json; charset=utf-8", buf)
}

// appendTokenJSON appends one entry of GET /api/tokens, with the field names of the docs:
// {tokenId, created, expires, sub, createdBy, lastUsed, scopes, serviceUserId, revokedBy,
// revocationReason} (the last two null unless revoked), then {description, status (at now),
// revoked, replaces, replacedBy, ends, stale (active and unused since staleBefore)}. A test holds it equal to encoding/json on the same
// fields.
func appendTokenJSON(b []byte, t token.Token, now, staleBefore time.Time) []byte {
	b = append(b, `{"tokenId":`...)
	b = appendJSONString(b, t.ID)
	b = append(b, `,"created":"`...)
	b = t.CreatedAt.UTC().AppendFormat(b, timeFormat)
	b = append(b, `","expires":"`...)
	b = t.ExpiresAt.UTC().AppendFormat(b, timeFormat)
	b = append(b, `","sub":`...)
	b = appendJSONString(b, t.Subject)
	b = append(b, `,"createdBy":`...)
	b = appendJSONString(b, t.CreatedBy)
	b = append(b, `,"lastUsed":`...)
	b = appendTimePtr(b, t.LastUsedAt)
	b = append(b, `,"scopes":`...)
	if t.Scopes == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, sc := range t.Scopes {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, sc)
		}
		b = append(b, ']')
	}
	b = append(b, `,"serviceUserId":`...)
	b = strconv.AppendInt(b, t.ServiceUserID, 10)
	b = append(b, `,"revokedBy":`...)
	b = appendNullableJSONString(b, t.RevokedBy)
	b = append(b, `,"revocationReason":`...)
	b = appendNullableJSONString(b, t.RevocationReason)
	b = append(b, `,"description":`...)
	b = appendJSONString(b, t.Description)
	b = append(b, `,"status":"`...)
	b = append(b, t.Status(now)...)
	b = append(b, `","revoked":`...)
	b = appendTimePtr(b, t.RevokedAt)
	b = append(b, `,"replaces":`...)
	b = appendNullableJSONString(b, t.Replaces)
	b = append(b, `,"replacedBy":`...)
	b = appendNullableJSONString(b, t.ReplacedBy)
	b = append(b, `,"ends":"`...)
	b = t.StopsAt().UTC().AppendFormat(b, timeFormat)
	b = append(b, `","stale":`...)
	b = strconv.AppendBool(b, t.Stale(now, staleBefore))
	b = append(b, `,"lastUsedAddress":`...)
	b = appendNullableJSONString(b, t.LastUsedAddress)
	b = append(b, `,"lastUsedUserAgent":`...)
	b = appendNullableJSONString(b, t.LastUsedUserAgent)
	b = append(b, `,"requests30d":`...)
	b = strconv.AppendInt(b, t.RecentRequests(), 10)
	b = append(b, `,"dailyRequests30d":[`...)
	for i := range token.RecentDays {
		if i > 0 {
			b = append(b, ',')
		}
		var n int64
		if i < len(t.DailyRequests) {
			n = t.DailyRequests[i]
		}
		b = strconv.AppendInt(b, n, 10)
	}
	b = append(b, `],"stillPresented":`...)
	if p := t.StillPresented; p == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"times":`...)
		b = strconv.AppendInt(b, p.Times, 10)
		b = append(b, `,"lastSeen":"`...)
		b = p.LastSeen.UTC().AppendFormat(b, timeFormat)
		b = append(b, `","lastAddress":`...)
		b = appendJSONString(b, p.LastAddress)
		b = append(b, '}')
	}
	return append(b, '}')
}

// dayParam reads the query parameter name as a UTC day (YYYY-MM-DD), def when it is absent;
// false when it answered 400.
func dayParam(c *gin.Context, name string, def time.Time) (time.Time, bool) {
	v, ok := c.GetQuery(name)
	if !ok {
		return def, true
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		fail(c, apperr.New(apperr.InvalidParameter, "%s must be a day as YYYY-MM-DD", name))
		return time.Time{}, false
	}
	return d, true
}

// getToken returns one token, whatever its status, as the list shows it.
func (a *api) getToken(c *gin.Context) {
	t, err := a.Tokens.Show(c.Request.Context(), c.Param("tokenId"))
	if err != nil {
		fail(c, err)
		return
	}
	now := a.Now()
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/json; charset=utf-8", appendTokenJSON(make([]byte, 0, 600), t, now, a.Tokens.StaleBefore(now)))
}

type usageDay struct {
	Date     string `json:"date"`
	Requests int64  `json:"requests"`
	Refused  int64  `json:"refused"`
}

type usageClient struct {
	Address   string `json:"address"`
	UserAgent string `json:"userAgent"`
	FirstSeen string `json:"firstSeen"`
	LastSeen  string `json:"lastSeen"`
	Requests  int64  `json:"requests"`
}

type usageResponse struct {
	From    string        `json:"from"`
	To      string        `json:"to"`
	Days    []usageDay    `json:"days"`
	Clients []usageClient `json:"clients"`
}

// tokenUsage returns a token's requests by UTC day, from ?from= to ?to= (YYYY-MM-DD; by
// default the last 30 days, today included), and its recent clients.
func (a *api) tokenUsage(c *gin.Context) {
	to, ok := dayParam(c, "to", token.DayOf(a.Now()))
	if !ok {
		return
	}
	from, ok := dayParam(c, "from", to.AddDate(0, 0, 1-token.RecentDays))
	if !ok {
		return
	}
	u, err := a.Tokens.UsageOf(c.Request.Context(), c.Param("tokenId"), from, to)
	if err != nil {
		fail(c, err)
		return
	}
	out := usageResponse{From: u.From.Format(time.DateOnly), To: u.To.Format(time.DateOnly),
		Days: make([]usageDay, len(u.Days)), Clients: make([]usageClient, len(u.Clients))}
	for i, d := range u.Days {
		out.Days[i] = usageDay{Date: d.Day.Format(time.DateOnly), Requests: d.Requests, Refused: d.Refused}
	}
	for i, cl := range u.Clients {
		out.Clients[i] = usageClient{Address: cl.Address, UserAgent: cl.UserAgent, FirstSeen: formatTime(cl.FirstSeen),
			LastSeen: formatTime(cl.LastSeen), Requests: cl.Requests}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// appendTimePtr appends t formatted as the API does, or null.
func appendTimePtr(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, timeFormat)
	return append(b, '"')
}

// appendNullableJSONString appends s as a JSON string, or null when it is empty.
func appendNullableJSONString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendJSONString(b, s)
}

// appendJSONString appends s as a JSON string, escaped as encoding/json does (including <, >,
// & and the line separators, so the output is safe to embed anywhere).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			if r == utf8.RuneError {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// rotateRequest is the body of both rotations; it may be left out.
type rotateRequest struct {
	// GracePeriod is how long the old token keeps working ("24h", "2d"; default
	// ROTATION_GRACE_PERIOD), at most 7 days and never past its expiry.
	GracePeriod *string `json:"gracePeriod"`
}

type rotatedResponse struct {
	AccessToken string `json:"accessToken"`
	TokenID     string `json:"tokenId"`
	Expires     string `json:"expires"`
	// Replaces is the old token's id; ReplacedTokenEnds when it stops working.
	Replaces          string `json:"replaces"`
	ReplacedTokenEnds string `json:"replacedTokenEnds"`
}

// rotateToken rotates any token: administrators, as revocation.
func (a *api) rotateToken(c *gin.Context) { a.rotate(c, c.Param("tokenId")) }

// rotateSelf rotates the calling token, which holds tokens:rotate (requireScope): it can name
// no other token, so a token can never rotate another service user's.
func (a *api) rotateSelf(c *gin.Context) {
	p := principalOf(c)
	if p.service == nil {
		fail(c, apperr.New(apperr.ServiceTokenRequired, "/api/tokens/self/rotate rotates the service token that calls it: call it with a service token holding tokens:rotate (administrators rotate any token with POST /api/tokens/{tokenId}/rotate)"))
		return
	}
	a.rotate(c, p.service.ID, func(rot token.Rotation) {
		// The answer's own header already says when the caller's token stops: at the grace end.
		c.Header(TokenExpirationHeader, rot.GraceEndsAt.UTC().Format(time.RFC3339))
	})
}

// rotate answers a rotation of token id; before is called with the rotation before the answer
// is written.
func (a *api) rotate(c *gin.Context, id string, before ...func(token.Rotation)) {
	var req rotateRequest
	if c.Request.ContentLength != 0 && !decodeJSON(c, &req) {
		return
	}
	if req.GracePeriod != nil && *req.GracePeriod == "" {
		fail(c, apperr.New(apperr.InvalidField, "gracePeriod is empty: leave it out for ROTATION_GRACE_PERIOD, or send a period such as \"24h\""))
		return
	}
	rot, err := a.Tokens.Rotate(c.Request.Context(), token.RotateRequest{ID: id, GracePeriod: deref(req.GracePeriod), By: auditContext(c)})
	if err != nil {
		fail(c, err)
		return
	}
	for _, f := range before {
		f(rot)
	}
	if a.Metrics != nil {
		a.Metrics.TokensIssued.Inc()
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, rotatedResponse{
		AccessToken: rot.Value, TokenID: rot.Successor.ID, Expires: formatTime(rot.Successor.ExpiresAt),
		Replaces: rot.Old.ID, ReplacedTokenEnds: formatTime(rot.GraceEndsAt),
	})
}

// revokeToken revokes a token; ?reason= (optional, up to 200 characters) says why, for the list,
// the audit log and the token.revoked notification. Revoking a rotated token in its grace period
// ends the grace period at once.
func (a *api) revokeToken(c *gin.Context) {
	if _, err := a.Tokens.Revoke(c.Request.Context(), c.Param("tokenId"), auditContext(c), c.Query("reason")); err != nil {
		fail(c, err)
		return
	}
	if a.Metrics != nil {
		a.Metrics.TokensRevoked.Inc()
	}
	c.Status(http.StatusNoContent)
}
