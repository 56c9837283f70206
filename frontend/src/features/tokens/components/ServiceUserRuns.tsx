import { useId, useState } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { Trash2 } from 'lucide-react'
import { DataTable, compactCell as td } from '../../../components/ui/DataTable'
import { IconButton } from '../../../components/ui/IconButton'
import { PagedList } from '../../../components/ui/PagedList'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { RunNameCells, RunStatusBadge, runKey } from '../../../components/ui/RunCells'
import { useServiceUserRuns, type Run } from '../api/serviceUsers'
import { DeleteRunDialog } from './DeleteRunDialog'

const columns = ['Workload', 'Run', 'Status', 'Branch', 'Started', 'Recorded', { label: 'Actions', align: 'right' }] as const

/** The runs a service user's tokens recorded, newest first, each deletable by the administrator. */
export function ServiceUserRuns({ name, onNotice }: { name: string; onNotice: (notice: string) => void }) {
  const query = useServiceUserRuns(name)
  const [deleting, setDeleting] = useState<Run | null>(null)
  const queryClient = useQueryClient()
  const headingId = useId()

  return (
    <section className="space-y-3" aria-labelledby={headingId}>
      <h2 id={headingId} className="text-lg font-semibold">
        Recent runs
      </h2>
      <PagedList
        query={query}
        loading="Loading the runs…"
        failed="Could not load the runs"
        empty={<p className="card muted text-sm">Its tokens have recorded no run yet.</p>}
      >
        {(runs) => (
          <DataTable caption={`Runs recorded by ${name}, newest first`} columns={columns} region="Runs recorded by this service user">
            {runs.map((run) => (
              <tr key={runKey(run)}>
                <RunNameCells run={run} />
                <td className={td}>
                  <RunStatusBadge status={run.status} />
                </td>
                <td className={`${td} break-all`}>{run.branch}</td>
                <td className={`${td} whitespace-nowrap`}>
                  <RelativeTime value={run.startedAt} />
                </td>
                <td className={`${td} whitespace-nowrap`}>
                  <RelativeTime value={run.recordedAt} />
                  <span className="muted block font-mono text-xs">{run.recordedBy}</span>
                </td>
                <td className={`${td} text-right`}>
                  <IconButton
                    icon={Trash2}
                    label={`Delete run ${run.id} of ${run.workload}`}
                    title="Delete run"
                    onClick={() => setDeleting(run)}
                    danger
                  />
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </PagedList>
      {deleting && (
        <DeleteRunDialog
          run={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={(run) => {
            setDeleting(null)
            onNotice(`Deleted run #${run.id} of ${run.workload}: the dashboard no longer counts it.`)
            // A deleted run changes every page that reads runs or metrics (the dashboard too):
            // everything cached goes stale, and what is on screen is read again.
            void queryClient.invalidateQueries()
          }}
        />
      )}
    </section>
  )
}
