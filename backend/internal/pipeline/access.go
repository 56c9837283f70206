package pipeline

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/audit"
)

// ActionRunDeleted is the audit action of a run deleted by an administrator.
const ActionRunDeleted = "pipeline_run.deleted"

// CheckWorkloadName checks a workload name: 1 to 100 letters, digits, '.', '_', '-' or '/',
// starting with a letter or digit.
func CheckWorkloadName(name string) error { return checkName("workload", name, 100) }

// checkServiceUserFilter checks a run list's service-user filter: a name of at most 100
// characters (service user names are).
func checkServiceUserFilter(name string) error {
	if utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) {
		return apperr.New(apperr.InvalidParameter, "serviceUser must be a service user's name: valid text of at most 100 characters")
	}
	return nil
}

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
