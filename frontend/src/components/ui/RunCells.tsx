import type { Schemas } from '../../lib/api'
import { Badge } from './Badge'
import { compactCell } from './DataTable'

type Run = Schemas['Run']

const statusTone = { success: 'success', failed: 'danger', cancelled: 'neutral' } as const
const statusLabel = { success: 'Success', failed: 'Failed', cancelled: 'Cancelled' } as const

/** A run's first cells in a table of runs: its workload, then (the row's header) its pipeline, kind and id. */
export function RunNameCells({ run }: { run: Run }) {
  return (
    <>
      <td className={`${compactCell} font-medium break-all`}>{run.workload}</td>
      <th scope="row" className={`${compactCell} text-left font-normal`}>
        <span className="break-all">{run.pipeline}</span>{' '}
        <span className="muted text-xs">
          {run.kind} #{run.id}
        </span>
      </th>
    </>
  )
}

/** A run's status as a badge: green for success, red for failed. */
export function RunStatusBadge({ status }: { status: Run['status'] }) {
  return <Badge tone={statusTone[status]}>{statusLabel[status]}</Badge>
}

/** The key of a run's row: ids are unique within a workload. */
export const runKey = (run: Run) => `${run.workload}\u0000${run.id}`
