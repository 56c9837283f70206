package httpapi

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/token"
	"github.com/gin-gonic/gin"
)

// actionExported is the audit event of a token export.
const actionExported = "token.exported"

// exportBatch is how many tokens the export reads per query.
const exportBatch = 500

// exportColumn is one column of the token export: its header and its cell. text marks the
// columns of free text a person or an identity provider wrote (subject, description, names,
// reasons): only they can hold a formula, and only they are defused (csvSafe). Ids, times and
// flags are CodeMetrics' own and exported verbatim: a token id may start with '-'.
type exportColumn struct {
	name string
	text bool
	cell func(t token.Token, now, staleBefore time.Time) string
}

func optTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return formatTime(*t)
}

// exportColumns are the columns of GET /api/tokens/export, the list item's metadata (never a
// value or a hash), in order: further columns go here.
var exportColumns = []exportColumn{
	{"tokenId", false, func(t token.Token, _, _ time.Time) string { return t.ID }},
	{"sub", true, func(t token.Token, _, _ time.Time) string { return t.Subject }},
	{"description", true, func(t token.Token, _, _ time.Time) string { return t.Description }},
	{"scopes", false, func(t token.Token, _, _ time.Time) string { return strings.Join(t.Scopes, " ") }},
	{"status", false, func(t token.Token, now, _ time.Time) string { return t.Status(now) }},
	{"created", false, func(t token.Token, _, _ time.Time) string { return formatTime(t.CreatedAt) }},
	{"expires", false, func(t token.Token, _, _ time.Time) string { return formatTime(t.ExpiresAt) }},
	{"lastUsed", false, func(t token.Token, _, _ time.Time) string { return optTime(t.LastUsedAt) }},
	{"createdBy", true, func(t token.Token, _, _ time.Time) string { return t.CreatedBy }},
	{"serviceUserId", false, func(t token.Token, _, _ time.Time) string { return strconv.FormatInt(t.ServiceUserID, 10) }},
	{"revoked", false, func(t token.Token, _, _ time.Time) string { return optTime(t.RevokedAt) }},
	{"revokedBy", true, func(t token.Token, _, _ time.Time) string { return t.RevokedBy }},
	{"revocationReason", true, func(t token.Token, _, _ time.Time) string { return t.RevocationReason }},
	{"replaces", false, func(t token.Token, _, _ time.Time) string { return t.Replaces }},
	{"replacedBy", false, func(t token.Token, _, _ time.Time) string { return t.ReplacedBy }},
	{"ends", false, func(t token.Token, _, _ time.Time) string { return formatTime(t.StopsAt()) }},
	{"stale", false, func(t token.Token, now, sb time.Time) string { return strconv.FormatBool(t.Stale(now, sb)) }},
	// The address is what the client said through a trusted proxy's header, the user agent
	// what it sent: both defused.
	{"lastUsedAddress", true, func(t token.Token, _, _ time.Time) string { return t.LastUsedAddress }},
	{"lastUsedUserAgent", true, func(t token.Token, _, _ time.Time) string { return t.LastUsedUserAgent }},
	{"requests30d", false, func(t token.Token, _, _ time.Time) string { return strconv.FormatInt(t.RecentRequests(), 10) }},
	{"stillPresented", false, func(t token.Token, _, _ time.Time) string {
		if t.StillPresented == nil {
			return "0"
		}
		return strconv.FormatInt(t.StillPresented.Times, 10)
	}},
}

// csvSafe defuses a cell a spreadsheet would read as a formula: a leading ' before = + - @,
// a tab or a carriage return.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// exportRecord fills rec with t's cells, the free-text ones defused.
func exportRecord(rec []string, t token.Token, now, staleBefore time.Time) {
	for i, col := range exportColumns {
		if rec[i] = col.cell(t, now, staleBefore); col.text {
			rec[i] = csvSafe(rec[i])
		}
	}
}

// exportTokens streams the tokens the list's filter selects as CSV, exportBatch tokens per
// query (never the whole set in memory), and records one token.exported event.
func (a *api) exportTokens(c *gin.Context) {
	if c.Query("format") != "csv" {
		fail(c, apperr.New(apperr.InvalidParameter, "format must be csv"))
		return
	}
	q, ok := readTokenFilter(c)
	if !ok {
		return
	}
	q.Limit = exportBatch
	ctx := c.Request.Context()
	// The first batch is read before the answer starts, so that a bad filter is still a 400.
	batch, err := a.Tokens.List(ctx, q)
	if err != nil {
		fail(c, err)
		return
	}
	now := a.Now()
	staleBefore := a.Tokens.StaleBefore(now)
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="codemetrics-tokens-%s.csv"`, now.UTC().Format("20060102")))
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	rec := make([]string, len(exportColumns))
	for i, col := range exportColumns {
		rec[i] = col.name
	}
	_ = w.Write(rec)
	rows := 0
	for len(batch) > 0 {
		for _, t := range batch {
			exportRecord(rec, t, now, staleBefore)
			if err := w.Write(rec); err != nil {
				return // the client went away
			}
			rows++
		}
		w.Flush()
		if len(batch) < exportBatch {
			break
		}
		cur := token.CursorAfter(batch[len(batch)-1], q.Sort)
		q.After = &cur
		if batch, err = a.Tokens.List(ctx, q); err != nil {
			logFrom(c).Error("token export cut short", "err", err)
			break
		}
	}
	w.Flush()
	filters := map[string]any{}
	for _, p := range tokenFilterParams {
		if v, ok := c.GetQuery(p); ok {
			filters[p] = v
		}
	}
	a.record(c, auditContext(c), actionExported, "tokens", map[string]any{"filters": filters, "rows": rows, "format": "csv"})
}

type bulkRevokeRequest struct {
	IDs    []string `json:"ids"`
	Reason *string  `json:"reason"`
	DryRun bool     `json:"dryRun"`
}

type bulkRevokeResult struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

type bulkRevokeResponse struct {
	Results []bulkRevokeResult `json:"results"`
	Revoked int                `json:"revoked"`
	DryRun  bool               `json:"dryRun"`
}

// bulkRevokeBodyBytes holds 1000 ids of up to 64 characters, quoted, and a reason.
const bulkRevokeBodyBytes = 128 << 10

// revokeTokens revokes many tokens (POST /api/tokens/revoke), as revokeToken does each.
func (a *api) revokeTokens(c *gin.Context) {
	var req bulkRevokeRequest
	if !decodeJSONUpTo(c, &req, bulkRevokeBodyBytes) {
		return
	}
	out, err := a.Tokens.RevokeMany(c.Request.Context(), req.IDs, auditContext(c), deref(req.Reason), req.DryRun)
	if err != nil {
		fail(c, err)
		return
	}
	resp := bulkRevokeResponse{Results: make([]bulkRevokeResult, len(out)), DryRun: req.DryRun}
	for i, o := range out {
		resp.Results[i] = bulkRevokeResult{ID: o.ID, Status: o.Status}
		if o.Status == token.RevokeDone {
			resp.Revoked++
		}
	}
	if a.Metrics != nil && !req.DryRun {
		a.Metrics.TokensRevoked.Add(float64(resp.Revoked))
	}
	c.JSON(http.StatusOK, resp)
}
