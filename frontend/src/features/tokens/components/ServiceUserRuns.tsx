import { useId, useState } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { Trash2 } from 'lucide-react'
import { Badge } from '../../../components/ui/Badge'
import { LoadError } from '../../../components/ui/LoadError'
import { LoadMoreButton } from '../../../components/ui/LoadMoreButton'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { Spinner } from '../../../components/ui/Spinner'
import { useServiceUserRuns, type Run } from '../api/serviceUsers'
import { DeleteRunDialog } from './DeleteRunDialog'

const th = 'px-4 py-3 text-left text-xs font-semibold tracking-wide text-slate-600 uppercase dark:text-slate-400'
const td = 'px-4 py-2.5 align-top text-sm'

const statusTone = { success: 'success', failed: 'danger', cancelled: 'neutral' } as const
const statusLabel = { success: 'Success', failed: 'Failed', cancelled: 'Cancelled' } as const

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
      {query.isPending ? (
        <Spinner label="Loading the runs…" />
      ) : query.isError ? (
        <LoadError title="Could not load the runs" error={query.error} onRetry={() => void query.refetch()} />
      ) : query.data.items.length === 0 ? (
        <p className="card muted text-sm">Its tokens have recorded no run yet.</p>
      ) : (
        <>
          <div
            tabIndex={0}
            role="region"
            aria-label="Runs recorded by this service user"
            className="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900"
          >
            <table className="min-w-full divide-y divide-slate-200 dark:divide-slate-800">
              <caption className="sr-only">Runs recorded by {name}, newest first</caption>
              <thead className="bg-slate-50 dark:bg-slate-900">
                <tr>
                  {['Workload', 'Run', 'Status', 'Branch', 'Started', 'Recorded'].map((h) => (
                    <th key={h} scope="col" className={th}>
                      {h}
                    </th>
                  ))}
                  <th scope="col" className={`${th} text-right`}>
                    Actions
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-200 dark:divide-slate-800">
                {query.data.items.map((run) => (
                  <tr key={`${run.workload}\u0000${run.id}`}>
                    <td className={`${td} font-medium break-all`}>{run.workload}</td>
                    <th scope="row" className={`${td} text-left font-normal`}>
                      <span className="break-all">{run.pipeline}</span>{' '}
                      <span className="muted text-xs">
                        {run.kind} #{run.id}
                      </span>
                    </th>
                    <td className={td}>
                      <Badge tone={statusTone[run.status]}>{statusLabel[run.status]}</Badge>
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
                      <button
                        type="button"
                        className="btn-ghost p-2 text-red-700 hover:bg-red-50 dark:text-red-400 dark:hover:bg-red-500/10"
                        aria-label={`Delete run ${run.id} of ${run.workload}`}
                        title="Delete run"
                        onClick={() => setDeleting(run)}
                      >
                        <Trash2 aria-hidden="true" className="size-4" />
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="flex justify-end">
            <LoadMoreButton query={query} />
          </div>
        </>
      )}
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
