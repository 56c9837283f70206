import { Trash2 } from 'lucide-react'
import { Alert } from '../../../components/ui/Alert'
import { ConfirmDialog } from '../../../components/ui/ConfirmDialog'
import { Detail, Details } from '../../../components/ui/Details'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { goneAlready } from '../../../lib/api'
import { deleteRun, type Run } from '../api/serviceUsers'

interface DeleteRunDialogProps {
  run: Run
  onClose: () => void
  /** Called once the run is deleted (or turned out to be gone already). */
  onDeleted: (run: Run) => void
}

/** Confirms deleting a run recorded by mistake or by a stolen token: which run, and what it changes. */
export function DeleteRunDialog({ run, onClose, onDeleted }: DeleteRunDialogProps) {
  return (
    <ConfirmDialog
      title="Delete pipeline run"
      onClose={onClose}
      onConfirm={async () => {
        await deleteRun(run.workload, run.id).catch(goneAlready)
        onDeleted(run)
      }}
      icon={Trash2}
      confirmLabel="Delete run"
      busyLabel="Deleting…"
      failure="The run was not deleted"
    >
      <Details>
        <Detail label="Workload" className="font-medium break-all">
          {run.workload}
        </Detail>
        <Detail label="Run" className="break-all">
          {run.pipeline} {run.kind} #{run.id}
        </Detail>
        <Detail label="Started">
          <RelativeTime value={run.startedAt} />
        </Detail>
        <Detail label="Recorded by" className="break-all">
          {run.serviceUser ?? run.recordedBy}
        </Detail>
      </Details>
      <Alert tone="warning" title="This action cannot be undone">
        <p>
          The run leaves the dashboard: its coverage, tests and duration no longer count in the workload’s daily
          metrics. The deletion is recorded in the audit log. Its run id can be recorded again.
        </p>
      </Alert>
    </ConfirmDialog>
  )
}
