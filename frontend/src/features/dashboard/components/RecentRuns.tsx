import { memo, useId, useMemo, useState } from 'react'
import { Badge } from '../../../components/ui/Badge'
import { LoadError } from '../../../components/ui/LoadError'
import { LoadMoreButton } from '../../../components/ui/LoadMoreButton'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { Spinner } from '../../../components/ui/Spinner'
import { formatElapsed } from '../../../lib/time'
import { useRecentRuns, type Run } from '../api/metrics'

const th = 'px-4 py-3 text-left text-xs font-semibold tracking-wide text-slate-600 uppercase dark:text-slate-400'
const td = 'px-4 py-2.5 align-top text-sm'

const statusTone = { success: 'success', failed: 'danger', cancelled: 'neutral' } as const
const statusLabel = { success: 'Success', failed: 'Failed', cancelled: 'Cancelled' } as const

/**
 * The newest pipeline runs, of every workload or of one. Memoised: the dashboard re-renders on
 * each change of the charted workloads, and the select can hold a thousand names.
 */
export const RecentRuns = memo(function RecentRuns({ workloads }: { workloads: string[] }) {
  const [workload, setWorkload] = useState('')
  const byName = useMemo(() => [...workloads].sort(), [workloads])
  const query = useRecentRuns(workload)
  const selectId = useId()
  const headingId = useId()
  return (
    <section className="space-y-3" aria-labelledby={headingId}>
      <div className="flex flex-wrap items-end justify-between gap-3">
        <h2 id={headingId} className="text-lg font-semibold">
          Recent pipeline runs
        </h2>
        <div className="flex items-center gap-2">
          <label htmlFor={selectId} className="text-sm font-medium">
            Workload
          </label>
          <select id={selectId} className="field-input w-auto" value={workload} onChange={(e) => setWorkload(e.target.value)}>
            <option value="">All workloads</option>
            {byName.map((w) => (
              <option key={w} value={w}>
                {w}
              </option>
            ))}
          </select>
        </div>
      </div>
      {query.isPending ? (
        <Spinner label="Loading the runs…" />
      ) : query.isError ? (
        <LoadError title="Could not load the runs" error={query.error} onRetry={() => void query.refetch()} />
      ) : query.data.items.length === 0 ? (
        <p className="card muted text-sm">No runs recorded for this workload.</p>
      ) : (
        <>
          <RunsTable runs={query.data.items} />
          <div className="flex justify-end">
            <LoadMoreButton query={query} />
          </div>
        </>
      )}
    </section>
  )
})

function RunsTable({ runs }: { runs: Run[] }) {
  return (
    // Focusable, so keyboard users can scroll it sideways on narrow screens.
    <div
      tabIndex={0}
      role="region"
      aria-label="Recent pipeline runs table"
      className="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900"
    >
      <table className="min-w-full divide-y divide-slate-200 dark:divide-slate-800">
        <caption className="sr-only">Recent pipeline runs, newest first</caption>
        <thead className="bg-slate-50 dark:bg-slate-900">
          <tr>
            {['Workload', 'Pipeline', 'Status', 'Branch', 'Commit', 'Coverage', 'Tests', 'Started', 'Duration'].map((h) => (
              <th key={h} scope="col" className={th}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-200 dark:divide-slate-800">
          {runs.map((run) => (
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
              <td className={`${td} font-mono text-xs`} title={run.commit}>
                {run.commit.slice(0, 7)}
              </td>
              <td className={`${td} tabular-nums`}>{run.coverage === null ? '—' : `${run.coverage}%`}</td>
              <td className={`${td} tabular-nums whitespace-nowrap`}>
                {run.tests ? testsSummary(run.tests) : '—'}
              </td>
              <td className={`${td} whitespace-nowrap`}>
                <RelativeTime value={run.startedAt} />
              </td>
              <td className={`${td} tabular-nums whitespace-nowrap`}>
                {formatElapsed((Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function testsSummary(t: NonNullable<Run['tests']>): string {
  const parts = [`${t.passed} passed`, `${t.failed} failed`]
  if (t.skipped) parts.push(`${t.skipped} skipped`)
  return parts.join(', ')
}
