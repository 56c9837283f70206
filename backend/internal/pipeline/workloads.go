package pipeline

import (
	"context"
	"unicode/utf8"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
)

// Orders of a workload list.
const (
	WorkloadsByName   = "name"   // by name (the default)
	WorkloadsByRecent = "recent" // the newest run's start first; then, and without runs, by name
)

// MaxWorkloadSearch bounds a workload search: no name is longer.
const MaxWorkloadSearch = 100

// WorkloadQuery selects workloads.
type WorkloadQuery struct {
	Search string   // a part of the name, in any case; "" for every workload
	Sort   string   // WorkloadsByName ("" too) or WorkloadsByRecent
	Limit  int      // 0 for every workload
	Only   []string // nil for every workload, else only these (a service user's)
}

// Workloads lists the workloads q selects, in its order.
func (s *Service) Workloads(ctx context.Context, q WorkloadQuery) ([]string, error) {
	if err := checkWorkloadQuery(&q); err != nil {
		return nil, err
	}
	return s.store.ListWorkloads(ctx, q)
}

// CountWorkloads counts the workloads q selects, ignoring its limit.
func (s *Service) CountWorkloads(ctx context.Context, q WorkloadQuery) (int64, error) {
	if err := checkWorkloadQuery(&q); err != nil {
		return 0, err
	}
	q.Limit = 0
	return s.store.CountWorkloads(ctx, q)
}

func checkWorkloadQuery(q *WorkloadQuery) error {
	switch q.Sort {
	case "":
		q.Sort = WorkloadsByName
	case WorkloadsByName, WorkloadsByRecent:
	default:
		return apperr.New(apperr.InvalidParameter, "sort must be %q (by name) or %q (most recently active first)", WorkloadsByName, WorkloadsByRecent)
	}
	if !utf8.ValidString(q.Search) || utf8.RuneCountInString(q.Search) > MaxWorkloadSearch {
		return apperr.New(apperr.InvalidParameter, "q must be valid text of at most %d characters", MaxWorkloadSearch)
	}
	return nil
}
