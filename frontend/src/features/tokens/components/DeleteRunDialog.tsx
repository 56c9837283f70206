import { useState } from 'react'
import { Trash2 } from 'lucide-react'
import { Alert } from '../../../components/ui/Alert'
import { Dialog } from '../../../components/ui/Dialog'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { ApiError, errorMessage } from '../../../lib/api'
import { deleteRun, type Run } from '../api/serviceUsers'

interface DeleteRunDialogProps {
  run: Run
  onClose: () => void
  /** Called once the run is deleted (or turned out to be gone already). */
  onDeleted: (run: Run) => void
}

/** Confirms deleting a run recorded by mistake or by a stolen token: which run, and what it changes. */
export function DeleteRunDialog({ run, onClose, onDeleted }: DeleteRunDialogProps) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()

  async function confirm() {
    setBusy(true)
    setError(undefined)
    try {
      await deleteRun(run.workload, run.id)
      onDeleted(run)
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        onDeleted(run)
        return
      }
      setError(errorMessage(err))
      setBusy(false)
    }
  }

  return (
    <Dialog title="Delete pipeline run" onClose={onClose} busy={busy}>
      <div className="space-y-4 text-sm">
        <dl className="grid grid-cols-[auto_1fr] gap-x-6 gap-y-1.5">
          <dt className="muted">Workload</dt>
          <dd className="font-medium break-all">{run.workload}</dd>
          <dt className="muted">Run</dt>
          <dd className="break-all">
            {run.pipeline} {run.kind} #{run.id}
          </dd>
          <dt className="muted">Started</dt>
          <dd>
            <RelativeTime value={run.startedAt} />
          </dd>
          <dt className="muted">Recorded by</dt>
          <dd className="break-all">{run.serviceUser ?? run.recordedBy}</dd>
        </dl>
        <Alert tone="warning" title="This action cannot be undone">
          <p>
            The run leaves the dashboard: its coverage, tests and duration no longer count in the workload’s daily
            metrics. The deletion is recorded in the audit log. Its run id can be recorded again.
          </p>
        </Alert>
        {error && (
          <Alert tone="error" role="alert" title="The run was not deleted">
            <p>{error}</p>
          </Alert>
        )}
        <div className="flex justify-end gap-2 border-t border-slate-200 pt-4 dark:border-slate-700">
          <button type="button" className="btn-secondary" data-autofocus onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="button" className="btn-danger" onClick={() => void confirm()} disabled={busy}>
            <Trash2 aria-hidden="true" className="size-4" />
            {busy ? 'Deleting…' : 'Delete run'}
          </button>
        </div>
      </div>
    </Dialog>
  )
}
