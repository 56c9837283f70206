package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
	"github.com/gin-gonic/gin"
)

// The one paging contract of every list (GET /api/tokens, /api/pipeline/runs, /api/audit-events):
//
//   - ?limit= is a whole number from 1 to maxPageSize; anything else is a 400, never a clamp.
//     Without it a list returns its default page (the token list: every token, as the docs show).
//   - ?cursor= is opaque: base64url of {"l": list, "f": filter, "p": position}. A cursor of
//     another list or of another filter, or one that does not decode, is a 400.
//   - The body is the page itself, a JSON array.
//   - A full page carries `Link: <path?filter&limit&cursor>; rel="next"`; the last page has none.
//   - X-Total-Count counts every item the filter selects, on the lists where that is cheap.

// maxPageSize is the largest ?limit of every list.
const maxPageSize = 1000

// The audit log must return a page of maxPageSize whole: a page cut short would read as the
// last one. (The array length goes negative, and the build fails, if audit.MaxList is lower.)
var _ [audit.MaxList - maxPageSize]struct{}

func errLimit() error {
	return apperr.New(apperr.InvalidParameter, "limit must be a whole number from 1 to %d", maxPageSize)
}

func errCursor() error {
	return apperr.New(apperr.InvalidCursor, "cursor is not one this server gave out for this list and filter: start again without it")
}

// pageRequest is the paging part of a list request.
type pageRequest struct {
	list   string
	params []string // the filter's query parameters
	filter string   // their fingerprint
	// Limit is the page size; 0 means every item.
	Limit int
	// HasCursor says the request continues a list; its position was decoded.
	HasCursor bool
}

// cursorJSON is the envelope of every cursor.
type cursorJSON struct {
	List     string          `json:"l"`
	Filter   string          `json:"f,omitempty"`
	Position json.RawMessage `json:"p"`
}

// readPage reads ?limit and ?cursor of a request for list, failing it on bad values. def is the
// limit without ?limit (0: no limit). filter names the query parameters that select the items:
// a cursor continues only the query with the same values. A cursor's position goes into pos.
func readPage(c *gin.Context, list string, def int, pos any, filter ...string) (pageRequest, bool) {
	pg := pageRequest{list: list, params: filter, filter: filterKey(c, filter)}
	var ok bool
	if pg.Limit, ok = readLimit(c, def); !ok {
		return pg, false
	}
	if v := c.Query("cursor"); v != "" {
		if decodeCursor(v, pg.list, pg.filter, pos) != nil {
			fail(c, errCursor())
			return pg, false
		}
		pg.HasCursor = true
	}
	return pg, true
}

// readLimit reads ?limit of a request, failing it on a bad value; def without ?limit. Lists
// without a cursor (GET /api/workloads) take the same limit as the paged ones.
func readLimit(c *gin.Context, def int) (int, bool) {
	v := c.Query("limit")
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPageSize {
		fail(c, errLimit())
		return 0, false
	}
	return n, true
}

// filterKey fingerprints the values of the filter parameters, so a cursor stays short. It only
// tells queries apart: a forged cursor gains nothing, it selects what the filter allows anyway.
func filterKey(c *gin.Context, params []string) string {
	if len(params) == 0 {
		return ""
	}
	h := fnv.New64a()
	for _, p := range params {
		fmt.Fprintf(h, "%d:%s\x00", len(c.Query(p)), c.Query(p))
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

func encodeCursor(list, filter string, pos any) string {
	p, err := json.Marshal(pos)
	if err != nil {
		panic(err) // positions are plain structs
	}
	b, _ := json.Marshal(cursorJSON{List: list, Filter: filter, Position: p})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, list, filter string, pos any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	var cj cursorJSON
	if err := strictJSON(b, &cj); err != nil {
		return err
	}
	if cj.List != list || cj.Filter != filter {
		return fmt.Errorf("cursor of another list or filter")
	}
	return strictJSON(cj.Position, pos)
}

// strictJSON decodes one JSON value with exactly the fields of v.
func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// writePageHeaders sets the paging headers of a page of n items: the next page's link when the
// page is full (next gives the position of its last item), and the total when it is not negative.
func writePageHeaders(c *gin.Context, pg pageRequest, n int, next func() any, total int64) {
	if pg.Limit > 0 && n == pg.Limit {
		q := url.Values{}
		for _, p := range pg.params {
			if v := c.Query(p); v != "" {
				q.Set(p, v)
			}
		}
		q.Set("limit", strconv.Itoa(pg.Limit))
		q.Set("cursor", encodeCursor(pg.list, pg.filter, next()))
		c.Header("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, c.Request.URL.Path, q.Encode()))
	}
	if total >= 0 {
		c.Header("X-Total-Count", strconv.FormatInt(total, 10))
	}
	c.Header("Cache-Control", "no-store")
}

// position is where a page of a list ends, as the list's cursors carry it.
type position interface {
	// valid says the position is one the list gives out: a cursor of the list and filter may
	// still decode into a position that none of its pages ends at.
	valid() bool
}

// idPosition is where a page of a log listed newest first (the audit log, the delivery log)
// ends: its last entry's id.
type idPosition struct {
	ID int64 `json:"i"`
}

func (p idPosition) valid() bool { return p.ID >= 1 }

// servePage answers one page of a list as this file says, 50 items to a page by default: the
// list is named list in its cursors, filter names its filter parameters. fetch lists up to
// limit items after the cursor's position (after is nil on the first page) and counts every
// item the filter selects (-1: not counted); to converts an item for the body, at gives the
// position of an item, where the next page starts after it.
func servePage[P position, T, R any](c *gin.Context, list string, filter []string,
	fetch func(limit int, after *P) ([]T, int64, error), to func(T) R, at func(T) P) {
	var pos P
	pg, ok := readPage(c, list, 50, &pos, filter...)
	if !ok {
		return
	}
	var after *P
	if pg.HasCursor {
		if !pos.valid() {
			fail(c, errCursor())
			return
		}
		after = &pos
	}
	items, total, err := fetch(pg.Limit, after)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]R, len(items))
	for i, it := range items {
		out[i] = to(it)
	}
	writePage(c, pg, out, func(R) any { return at(items[len(items)-1]) }, total)
}

// writePage answers with a page of items (a JSON array, never null) and its paging headers.
func writePage[T any](c *gin.Context, pg pageRequest, items []T, next func(last T) any, total int64) {
	if items == nil {
		items = []T{}
	}
	writePageHeaders(c, pg, len(items), func() any { return next(items[len(items)-1]) }, total)
	c.JSON(http.StatusOK, items)
}
