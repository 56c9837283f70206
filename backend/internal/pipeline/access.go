package pipeline

import (
	"context"
	"time"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
)

// ActionRunDeleted is the audit action of a run deleted by an administrator.
const ActionRunDeleted = "pipeline_run.deleted"

// CheckWorkloadName checks a workload name: 1 to 100 letters, digits, '.', '_', '-' or '/',
// starting with a letter or digit.
func CheckWorkloadName(name string) error { return checkName("workload", name, 100) }

// Delete deletes a run (an administrator's correction: a run recorded by mistake or by an
// attacker), with its audit event.
func (s *Service) Delete(ctx context.Context, workload, id string, by audit.Context) (Run, error) {
	if CheckWorkloadName(workload) != nil || checkName("id", id, 200) != nil {
		return Run{}, apperr.New(apperr.NotFound, "no run %q in workload %q", id, workload)
	}
	now := s.now().UTC()
	return s.store.DeleteRun(ctx, workload, id, func(r Run) audit.Event {
		return by.Event(now, ActionRunDeleted, r.Workload+"/"+r.ID, map[string]any{
			"workload": r.Workload, "id": r.ID, "serviceUser": r.ServiceUser, "recordedBy": r.RecordedBy,
			"startedAt": r.StartedAt.Format(time.RFC3339Nano), "kind": r.Kind, "status": r.Status,
		})
	})
}
