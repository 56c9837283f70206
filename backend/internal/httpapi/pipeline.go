package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/pipeline"
	"github.com/gin-gonic/gin"
)

type testsJSON struct {
	Passed  *int `json:"passed"`
	Failed  *int `json:"failed"`
	Skipped *int `json:"skipped"`
}

type runRequest struct {
	ID         string     `json:"id"`
	Workload   string     `json:"workload"`
	Pipeline   string     `json:"pipeline"`
	Kind       string     `json:"kind"`
	Status     string     `json:"status"`
	Branch     string     `json:"branch"`
	Commit     string     `json:"commit"`
	StartedAt  *time.Time `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt"`
	Coverage   *float64   `json:"coverage"`
	Tests      *testsJSON `json:"tests"`
}

type runResponse struct {
	ID         string   `json:"id"`
	Workload   string   `json:"workload"`
	Pipeline   string   `json:"pipeline"`
	Kind       string   `json:"kind"`
	Status     string   `json:"status"`
	Branch     string   `json:"branch"`
	Commit     string   `json:"commit"`
	StartedAt  string   `json:"startedAt"`
	FinishedAt string   `json:"finishedAt"`
	Coverage   *float64 `json:"coverage"`
	Tests      *struct {
		Passed  int `json:"passed"`
		Failed  int `json:"failed"`
		Skipped int `json:"skipped"`
	} `json:"tests"`
	RecordedAt string `json:"recordedAt"`
	RecordedBy string `json:"recordedBy"`
	// ServiceUser names the service user whose token recorded the run; null for an administrator.
	ServiceUser *string `json:"serviceUser"`
}

func toRunResponse(r pipeline.Run) runResponse {
	out := runResponse{
		ID: r.ID, Workload: r.Workload, Pipeline: r.Pipeline, Kind: r.Kind, Status: r.Status, Branch: r.Branch,
		Commit: r.Commit, StartedAt: formatTime(r.StartedAt), FinishedAt: formatTime(r.FinishedAt),
		Coverage: r.Coverage, RecordedAt: formatTime(r.RecordedAt), RecordedBy: r.RecordedBy,
	}
	if r.ServiceUser != "" {
		out.ServiceUser = &r.ServiceUser
	}
	if r.Tests != nil {
		out.Tests = &struct {
			Passed  int `json:"passed"`
			Failed  int `json:"failed"`
			Skipped int `json:"skipped"`
		}{r.Tests.Passed, r.Tests.Failed, r.Tests.Skipped}
	}
	return out
}

// toRun is the run a request describes, recorded by p.
func (req runRequest) toRun(p *principal) (pipeline.Run, error) {
	run := pipeline.Run{
		ID: req.ID, Workload: req.Workload, Pipeline: req.Pipeline, Kind: req.Kind, Status: req.Status,
		Branch: req.Branch, Commit: req.Commit, Coverage: req.Coverage, RecordedBy: p.actor(), ServiceUser: p.serviceUser(),
	}
	if req.StartedAt != nil {
		run.StartedAt = *req.StartedAt
	}
	if req.FinishedAt != nil {
		run.FinishedAt = *req.FinishedAt
	}
	if t := req.Tests; t != nil {
		if t.Passed == nil || t.Failed == nil || t.Skipped == nil {
			return run, apperr.New(apperr.InvalidField, "tests needs passed, failed and skipped")
		}
		run.Tests = &pipeline.Tests{Passed: *t.Passed, Failed: *t.Failed, Skipped: *t.Skipped}
	}
	return run, nil
}

// recordRun stores a run: 201 when new, 200 with the stored run when the same run is recorded
// again, 409 when its id was used for a different run, 403 outside the service user's workloads.
func (a *api) recordRun(c *gin.Context) {
	var req runRequest
	if !decodeJSON(c, &req) {
		return
	}
	p := principalOf(c)
	run, err := req.toRun(p)
	if err == nil {
		err = mayRecord(p, run.Workload)
	}
	if err != nil {
		fail(c, err)
		return
	}
	stored, created, err := a.Pipeline.Record(c.Request.Context(), run)
	if err != nil {
		fail(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, toRunResponse(stored))
}

// maxBatchBodyBytes limits a batch's body: room for pipeline.MaxBatch runs with long ids,
// names and branches (a typical run is a few hundred bytes).
const maxBatchBodyBytes = 4 << 20

type batchRequest struct {
	// Each run is decoded on its own, so that a bad run is that run's fault only.
	Runs []deferredJSON `json:"runs"`
}

type batchResult struct {
	ID       string `json:"id"`
	Workload string `json:"workload"`
	Status   string `json:"status"`
	Error    string `json:"error,omitempty"`
}

// recordRunBatch records up to pipeline.MaxBatch runs, each as recordRun would, and answers 200
// with each run's outcome in input order: created, unchanged, conflict or invalid (with why).
// The body as a whole is refused (400) only when it is not {"runs": [1 to 1000 values]}.
func (a *api) recordRunBatch(c *gin.Context) {
	var req batchRequest
	if !decodeJSONUpTo(c, &req, maxBatchBodyBytes) {
		return
	}
	if len(req.Runs) == 0 {
		fail(c, apperr.New(apperr.InvalidField, "runs is required: an array of 1 to %d runs, each as POST /api/pipeline/runs takes", pipeline.MaxBatch))
		return
	}
	if len(req.Runs) > pipeline.MaxBatch {
		fail(c, apperr.New(apperr.InvalidField, "a batch holds at most %d runs, not %d: send the others in another batch", pipeline.MaxBatch, len(req.Runs)))
		return
	}
	p := principalOf(c)
	results := make([]batchResult, len(req.Runs))
	runs := make([]pipeline.Run, 0, len(req.Runs))
	at := make([]int, 0, len(req.Runs)) // runs[j] is req.Runs[at[j]]
	for i, raw := range req.Runs {
		var named struct{ ID, Workload any }
		_ = json.Unmarshal(raw, &named) // what to call the run by, whatever else is wrong with it
		results[i].ID, _ = named.ID.(string)
		results[i].Workload, _ = named.Workload.(string)
		run, err := parseRun(raw, p)
		if err == nil {
			err = mayRecord(p, run.Workload) // outside the service user's workloads: this run is refused, not the batch
		}
		if err != nil {
			results[i].Status, results[i].Error = pipeline.BatchInvalid, apperr.MessageOf(err)
			continue
		}
		runs = append(runs, run)
		at = append(at, i)
	}
	res, err := a.Pipeline.RecordBatch(c.Request.Context(), runs)
	if err != nil {
		fail(c, err)
		return
	}
	for j, r := range res {
		results[at[j]].Status = r.Status
		if r.Err != nil {
			results[at[j]].Error = apperr.MessageOf(r.Err)
		}
	}
	c.JSON(http.StatusOK, gin.H{"results": results})
}

// parseRun decodes one run of a batch with the rules of a single run's body.
func parseRun(raw []byte, p *principal) (pipeline.Run, error) {
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return pipeline.Run{}, apperr.New(apperr.InvalidJSON, "each run must be a JSON object")
	}
	var req runRequest
	if err := parseJSON(raw, &req); err != nil {
		return pipeline.Run{}, err
	}
	return req.toRun(p)
}

// runPosition is where a page of runs ends: its last run's start, workload and id.
type runPosition struct {
	StartedMS int64  `json:"s"`
	Workload  string `json:"w"`
	ID        string `json:"i"`
}

// listRuns returns runs newest first, ?workload= and ?serviceUser= (the service user whose
// tokens recorded them) filtering, paged as paging.go says (50 to a page by default). No
// X-Total-Count: counting runs would scan them all.
func (a *api) listRuns(c *gin.Context) {
	var pos runPosition
	pg, ok := readPage(c, "runs", 50, &pos, "workload", "serviceUser")
	if !ok {
		return
	}
	q := pipeline.ListQuery{Workload: c.Query("workload"), Limit: pg.Limit}
	q.ServiceUser = c.Query("serviceUser")
	if q.Only, ok = visibleWorkloads(c, q.Workload); !ok {
		return
	}
	if pg.HasCursor {
		if pos.ID == "" {
			fail(c, errCursor())
			return
		}
		q.After = &pipeline.Cursor{StartedAt: time.UnixMilli(pos.StartedMS), Workload: pos.Workload, ID: pos.ID}
	}
	runs, err := a.Pipeline.List(c.Request.Context(), q)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]runResponse, len(runs))
	for i, r := range runs {
		out[i] = toRunResponse(r)
	}
	writePage(c, pg, out, func(runResponse) any {
		r := runs[len(runs)-1]
		return runPosition{StartedMS: r.StartedAt.UnixMilli(), Workload: r.Workload, ID: r.ID}
	}, -1)
}

// listWorkloads returns {"workloads": [names]}, by name or, with ?sort=recent, the most recently
// active first; ?q= keeps the names containing it in any case, ?limit= (as paging.go's) the
// first ones. No cursor: a search narrows a long list. X-Total-Count counts what q selects.
func (a *api) listWorkloads(c *gin.Context) {
	limit, ok := readLimit(c, 0)
	if !ok {
		return
	}
	q := pipeline.WorkloadQuery{Search: c.Query("q"), Sort: c.Query("sort"), Limit: limit}
	if p := principalOf(c); p != nil && p.service != nil && !p.access.AllWorkloads() {
		q.Only = p.access.Workloads() // in the query, so a limit and the total count what it may see
		if q.Only == nil {
			q.Only = []string{}
		}
	}
	ctx := c.Request.Context()
	names, err := a.Pipeline.Workloads(ctx, q)
	if err != nil {
		fail(c, err)
		return
	}
	total := int64(len(names))
	if q.Limit > 0 && len(names) == q.Limit {
		if total, err = a.Pipeline.CountWorkloads(ctx, q); err != nil {
			fail(c, err)
			return
		}
	}
	if names == nil {
		names = []string{}
	}
	c.Header("X-Total-Count", strconv.FormatInt(total, 10))
	c.JSON(http.StatusOK, gin.H{"workloads": names})
}

type queryRequest struct {
	Queries   []string `json:"queries"`
	Workloads []string `json:"workloads"`
	DateRange *struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"dateRange"`
}

type pointResponse struct {
	Date  string   `json:"date"`
	Value *float64 `json:"value"`
	P50   *float64 `json:"p50,omitempty"`
	P95   *float64 `json:"p95,omitempty"`
	Count int      `json:"count"`
}

type seriesResponse struct {
	Query    string          `json:"query"`
	Workload string          `json:"workload"`
	Unit     string          `json:"unit"`
	Points   []pointResponse `json:"points"`
}

// query answers the docs' POST /api/query with one daily series per query and workload.
func (a *api) query(c *gin.Context) {
	var req queryRequest
	if !decodeJSON(c, &req) {
		return
	}
	if req.DateRange == nil {
		fail(c, apperr.New(apperr.InvalidField, "dateRange is required: {\"start\": \"2024-01-01\", \"end\": \"2024-01-31\"}"))
		return
	}
	for _, w := range req.Workloads {
		if err := mayRead(principalOf(c), w); err != nil {
			fail(c, err)
			return
		}
	}
	series, err := a.Pipeline.Query(c.Request.Context(), pipeline.QueryRequest{
		Queries: req.Queries, Workloads: req.Workloads, Start: req.DateRange.Start, End: req.DateRange.End,
	})
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]seriesResponse, len(series))
	for i, s := range series {
		out[i] = seriesResponse{Query: s.Query, Workload: s.Workload, Unit: s.Unit, Points: make([]pointResponse, len(s.Points))}
		for j, p := range s.Points {
			out[i].Points[j] = pointResponse{Date: p.Date, Value: p.Value, P50: p.P50, P95: p.P95, Count: p.Count}
		}
	}
	c.JSON(http.StatusOK, gin.H{"results": out})
}

type selfResponse struct {
	TokenID  string   `json:"tokenId"`
	Sub      string   `json:"sub"`
	Scopes   []string `json:"scopes"`
	Created  string   `json:"created"`
	Expires  string   `json:"expires"`
	LastUsed *string  `json:"lastUsed"`
	// Description, Status and ReplacedBy are as in the token list; Ends is the moment the token
	// stops working (its expiry, or the end of its grace period), as CodeMetrics-Token-Expiration.
	Description string  `json:"description"`
	Status      string  `json:"status"`
	ReplacedBy  *string `json:"replacedBy"`
	Ends        string  `json:"ends"`
}

// tokenSelf lets a service token read its own metadata, e.g. to warn before it expires.
func (a *api) tokenSelf(c *gin.Context) {
	p := principalOf(c)
	if p == nil {
		fail(c, errNoCredentials)
		return
	}
	if p.service == nil {
		fail(c, apperr.New(apperr.ServiceTokenRequired, "/api/tokens/self describes the service token that calls it: call it with a service token"))
		return
	}
	t, err := a.Tokens.Get(c.Request.Context(), p.service.ID)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, selfResponse{
		TokenID: t.ID, Sub: t.Subject, Scopes: p.access.Scopes(), Created: formatTime(t.CreatedAt),
		Expires: formatTime(t.ExpiresAt), LastUsed: formatTimePtr(t.LastUsedAt),
		Description: t.Description, Status: t.Status(a.Now()), ReplacedBy: nullable(t.ReplacedBy), Ends: formatTime(t.StopsAt()),
	})
}
