import { memo, useId, useMemo, useState } from 'react'
import { DataTable, compactCell as td } from '../../../components/ui/DataTable'
import { PagedList } from '../../../components/ui/PagedList'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { RunNameCells, RunStatusBadge, runKey } from '../../../components/ui/RunCells'
import { formatElapsed } from '../../../lib/time'
import { useRecentRuns, type Run } from '../api/metrics'

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
      <PagedList
        query={query}
        loading="Loading the runs…"
        failed="Could not load the runs"
        empty={<p className="card muted text-sm">No runs recorded for this workload.</p>}
      >
        {(runs) => <RunsTable runs={runs} />}
      </PagedList>
    </section>
  )
})

const columns = ['Workload', 'Pipeline', 'Status', 'Branch', 'Commit', 'Coverage', 'Tests', 'Started', 'Duration']

function RunsTable({ runs }: { runs: Run[] }) {
  return (
    <DataTable caption="Recent pipeline runs, newest first" columns={columns} region="Recent pipeline runs table">
      {runs.map((run) => (
        <tr key={runKey(run)}>
          <RunNameCells run={run} />
          <td className={td}>
            <RunStatusBadge status={run.status} />
          </td>
          <td className={`${td} break-all`}>{run.branch}</td>
          <td className={`${td} font-mono text-xs`} title={run.commit}>
            {run.commit.slice(0, 7)}
          </td>
          <td className={`${td} tabular-nums`}>{run.coverage === null ? '—' : `${run.coverage}%`}</td>
          <td className={`${td} tabular-nums whitespace-nowrap`}>{run.tests ? testsSummary(run.tests) : '—'}</td>
          <td className={`${td} whitespace-nowrap`}>
            <RelativeTime value={run.startedAt} />
          </td>
          <td className={`${td} tabular-nums whitespace-nowrap`}>
            {formatElapsed((Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000)}
          </td>
        </tr>
      ))}
    </DataTable>
  )
}

function testsSummary(t: NonNullable<Run['tests']>): string {
  const parts = [`${t.passed} passed`, `${t.failed} failed`]
  if (t.skipped) parts.push(`${t.skipped} skipped`)
  return parts.join(', ')
}
