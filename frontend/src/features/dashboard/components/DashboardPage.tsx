import { lazy, Suspense } from 'react'
import { useSearchParams } from 'react-router'
import { PageHeader } from '../../../components/layout/PageHeader'
import { Alert } from '../../../components/ui/Alert'
import { LoadError } from '../../../components/ui/LoadError'
import { Spinner } from '../../../components/ui/Spinner'
import { useNow } from '../../../lib/useNow'
import { useWorkloads } from '../api/metrics'
import { DEFAULT_DAYS, lastDays, rangeError, type DateRange } from '../lib/dateRange'
import {
  MAX_QUERY_WORKLOADS,
  chartedWorkloads,
  parseSelection,
  writeSelection,
  type Charted,
  type WorkloadList,
} from '../lib/selection'
import { DateRangePicker } from './DateRangePicker'
import { FirstRunGuide } from './FirstRunGuide'
import { RecentRuns } from './RecentRuns'
import { WorkloadPicker } from './WorkloadPicker'

// The chart library is the largest part of the bundle: only this page loads it.
const WorkloadTrends = lazy(() => import('./WorkloadTrends'))

/**
 * The portal's home: per workload, coverage and build success rate over a date range, and the
 * newest runs. It charts the most recently active workloads until the user picks others; the
 * range and the pick live in the URL, so a view can be bookmarked and shared.
 */
export function DashboardPage() {
  const now = useNow()
  const [params, setParams] = useSearchParams()
  const fallback = lastDays(DEFAULT_DAYS, now)
  const range: DateRange = { start: params.get('from') ?? fallback.start, end: params.get('to') ?? fallback.end }
  const error = rangeError(range)
  const workloads = useWorkloads()

  function setRange(next: DateRange) {
    setParams(
      (current) => {
        const p = new URLSearchParams(current)
        p.set('from', next.start)
        p.set('to', next.end)
        return p
      },
      { replace: true },
    )
  }
  function setSelection(next: string[] | undefined) {
    setParams((current) => writeSelection(current, next), { replace: true })
  }

  const list = workloads.data
  return (
    <>
      <PageHeader
        title="Dashboard"
        description={<p>Code coverage and build success rate per workload, from the pipeline runs your CI records.</p>}
        actions={list && list.total > 0 && <DateRangePicker value={range} now={now} error={error} onChange={setRange} />}
      />
      {workloads.isPending ? (
        <Spinner label="Loading the workloads…" />
      ) : workloads.isError ? (
        <LoadError title="Could not load the workloads" error={workloads.error} onRetry={() => void workloads.refetch()} />
      ) : workloads.data.names.length === 0 ? (
        <FirstRunGuide />
      ) : (
        <Workloads
          list={workloads.data}
          charted={chartedWorkloads(parseSelection(params), workloads.data)}
          range={error ? undefined : range}
          onChange={setSelection}
        />
      )}
    </>
  )
}

interface WorkloadsProps {
  list: WorkloadList
  charted: Charted
  /** Undefined while the range is not one the server takes. */
  range: DateRange | undefined
  onChange: (selection: string[] | undefined) => void
}

function Workloads({ list, charted, range, onChange }: WorkloadsProps) {
  return (
    <div className="space-y-8">
      <WorkloadPicker
        workloads={list}
        selected={charted.workloads}
        chosen={charted.chosen}
        onChange={onChange}
        onReset={() => onChange(undefined)}
      />
      {(charted.unknown.length > 0 || charted.overLimit > 0) && (
        <Alert tone="warning" role="status">
          {charted.unknown.length > 0 && <p>Not charted, as no workload has this name: {charted.unknown.join(', ')}.</p>}
          {charted.overLimit > 0 && (
            <p>
              The link names {charted.overLimit} more workloads than the {MAX_QUERY_WORKLOADS} charted at most: they are left out.
            </p>
          )}
        </Alert>
      )}
      {range && charted.workloads.length > 0 && (
        <Suspense fallback={<Spinner label="Loading the charts…" />}>
          <WorkloadTrends workloads={charted.workloads} range={range} />
        </Suspense>
      )}
      <RecentRuns workloads={list.names} />
    </div>
  )
}
