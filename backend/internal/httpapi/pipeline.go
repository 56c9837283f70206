package httpapi

import (
	"bytes"
	"encoding/json"
	"math"
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

// runFields are what a run request and a run response say alike, under the same names.
type runFields struct {
	ID       string `json:"id"`
	Workload string `json:"workload"`
	Pipeline string `json:"pipeline"`
	Kind     string `json:"kind"`
	Status   string `json:"status"`
	Branch   string `json:"branch"`
	Commit   string `json:"commit"`
}

type runRequest struct {
	runFields
	StartedAt  *time.Time `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt"`
	Coverage   *float64   `json:"coverage"`
	Tests      *testsJSON `json:"tests"`
}

type runResponse struct {
	runFields
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
		runFields: runFields{ID: r.ID, Workload: r.Workload, Pipeline: r.Pipeline, Kind: r.Kind, Status: r.Status, Branch: r.Branch,
			Commit: r.Commit},
		StartedAt: formatTime(r.StartedAt), FinishedAt: formatTime(r.FinishedAt),
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
		run, err := parseRun(raw, p)
		if err == nil {
			results[i].ID, results[i].Workload = run.ID, run.Workload
			err = mayRecord(p, run.Workload) // outside the service user's workloads: this run is refused, not the batch
		} else {
			var named struct{ ID, Workload any }
			_ = json.Unmarshal(raw, &named) // what to call the run by, whatever else is wrong with it
			results[i].ID, _ = named.ID.(string)
			results[i].Workload, _ = named.Workload.(string)
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

func (p runPosition) valid() bool { return p.ID != "" }

// listRuns returns runs newest first, ?workload= and ?serviceUser= (the service user whose
// tokens recorded them) filtering, paged as paging.go says. No X-Total-Count: counting runs
// would scan them all.
func (a *api) listRuns(c *gin.Context) {
	servePage(c, "runs", []string{"workload", "serviceUser"}, func(limit int, after *runPosition) ([]pipeline.Run, int64, error) {
		q := pipeline.ListQuery{Workload: c.Query("workload"), ServiceUser: c.Query("serviceUser"), Limit: limit}
		var err error
		if q.Only, err = visibleWorkloads(principalOf(c), q.Workload); err != nil {
			return nil, 0, err
		}
		if after != nil {
			q.After = &pipeline.Cursor{StartedAt: time.UnixMilli(after.StartedMS), Workload: after.Workload, ID: after.ID}
		}
		runs, err := a.Pipeline.List(c.Request.Context(), q)
		return runs, -1, err
	}, toRunResponse, func(r pipeline.Run) runPosition {
		return runPosition{StartedMS: r.StartedAt.UnixMilli(), Workload: r.Workload, ID: r.ID}
	})
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

// query answers the docs' POST /api/query with one daily series per query and workload,
// {"results": [{"query", "workload", "unit", "points": [{"date", "value", "p50"?, "p95"?,
// "count"}]}]}, encoded by hand (appendPointJSON) and streamed: each workload's series are
// written as its rollups are read, through a buffered writer, so that a request holds one
// workload's days and the buffer, never the whole answer (a year of 50 workloads and four
// queries is 73,200 points, about 5 MB of JSON). Whatever can be refused is refused before
// the first byte; a database failure after it ends the response unfinished (the connection is
// cut, so the client cannot take a truncated answer for a whole one).
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
	ctx := c.Request.Context()
	ans, err := a.Pipeline.PrepareQuery(ctx, pipeline.QueryRequest{
		Queries: req.Queries, Workloads: req.Workloads, Start: req.DateRange.Start, End: req.DateRange.End,
	})
	if err != nil {
		fail(c, err)
		return
	}
	out := &answerWriter{c: c}
	b := make([]byte, 0, answerBuffer+4<<10) // the buffer: written out whenever it holds answerBuffer bytes
	flush := func() error {
		_, err := out.Write(b)
		b = b[:0]
		return err
	}
	b = append(b, `{"results":[`...)
	series := 0
	err = ans.Each(ctx, func(workload string, days []pipeline.DayRollups) error {
		for _, q := range ans.Queries {
			if series > 0 {
				b = append(b, ',')
			}
			series++
			b = append(b, `{"query":`...)
			b = appendJSONString(b, q)
			b = append(b, `,"workload":`...)
			b = appendJSONString(b, workload)
			b = append(b, `,"unit":`...)
			b = appendJSONString(b, pipeline.UnitOf(q))
			b = append(b, `,"points":[`...)
			for d := range days {
				if d > 0 {
					b = append(b, ',')
				}
				b = appendPointJSON(b, ans.Dates[d], pipeline.ValueOf(q, &days[d]))
				if len(b) >= answerBuffer {
					if err := flush(); err != nil {
						return err
					}
				}
			}
			b = append(b, "]}"...)
		}
		return nil
	})
	if err == nil {
		b = append(b, "]}"...)
		err = flush()
	}
	switch {
	case err == nil:
	case !c.Writer.Written(): // nothing sent yet: an ordinary problem
		fail(c, err)
	case out.err != nil: // the client went away
		c.Abort()
	default:
		logFrom(c).Error("query failed after its answer began", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// answerBuffer is the buffer of a streamed answer: what is written to the connection at a time.
const answerBuffer = 32 << 10

// answerWriter writes a streamed 200 answer: the status and content type go with its first
// bytes, so that an error before them can still be a problem.
type answerWriter struct {
	c   *gin.Context
	err error // the connection's write error
}

func (w *answerWriter) Write(p []byte) (int, error) {
	if !w.c.Writer.Written() {
		w.c.Header("Content-Type", "application/json; charset=utf-8")
		w.c.Status(http.StatusOK)
	}
	n, err := w.c.Writer.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}

// appendPointJSON appends one point of a series, with the docs' field names: {"date", "value"
// (null on a day without data), "p50" and "p95" (build-duration's, when it has a value),
// "count"}. A test holds it equal to encoding/json of the same point.
func appendPointJSON(b []byte, date string, v pipeline.Value) []byte {
	b = append(b, `{"date":"`...)
	b = append(b, date...) // YYYY-MM-DD: nothing to escape
	b = append(b, `","value":`...)
	if v.Null {
		b = append(b, "null"...)
	} else {
		b = appendJSONFloat(b, v.Value)
	}
	if v.Percentiles {
		b = append(b, `,"p50":`...)
		b = appendJSONFloat(b, v.P50)
		b = append(b, `,"p95":`...)
		b = appendJSONFloat(b, v.P95)
	}
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(v.Count), 10)
	return append(b, '}')
}

// appendJSONFloat appends f as encoding/json writes a float64: the shortest decimal that reads
// back as f, in exponent form below 1e-6 and from 1e21 (f is finite: a query's values are).
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 to e-9, as encoding/json
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
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
