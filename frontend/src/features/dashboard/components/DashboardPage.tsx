import { lazy, Suspense } from 'react'
import { useSearchParams } from 'react-router'
import { PageHeader } from '../../../components/layout/PageHeader'
import { Alert } from '../../../components/ui/Alert'
import { LoadError } from '../../../components/ui/LoadError'
import { Spinner } from '../../../components/ui/Spinner'
import { useNow } from '../../../lib/useNow'
import { MAX_QUERY_WORKLOADS, useWorkloads } from '../api/metrics'
import { DEFAULT_DAYS, lastDays, rangeError, type DateRange } from '../lib/dateRange'
import { DateRangePicker } from './DateRangePicker'
import { FirstRunGuide } from './FirstRunGuide'
import { RecentRuns } from './RecentRuns'

// The chart library is the largest part of the bundle: only this page loads it.
const WorkloadTrends = lazy(() => import('./WorkloadTrends'))

/** The portal's home: per workload, coverage and build success rate over a date range, and the newest runs. */
export function DashboardPage() {
  const now = useNow()
  const [params, setParams] = useSearchParams()
  const fallback = lastDays(DEFAULT_DAYS, now)
  const range: DateRange = { start: params.get('from') ?? fallback.start, end: params.get('to') ?? fallback.end }
  const error = rangeError(range)
  const workloads = useWorkloads()

  // The range lives in the URL, so a view can be bookmarked and shared.
  function setRange(next: DateRange) {
    setParams({ from: next.start, to: next.end }, { replace: true })
  }

  const list = workloads.data ?? []
  const shown = list.slice(0, MAX_QUERY_WORKLOADS)
  return (
    <>
      <PageHeader
        title="Dashboard"
        description={<p>Code coverage and build success rate per workload, from the pipeline runs your CI records.</p>}
        actions={list.length > 0 && <DateRangePicker value={range} now={now} error={error} onChange={setRange} />}
      />
      {workloads.isPending ? (
        <Spinner label="Loading the workloads…" />
      ) : workloads.isError ? (
        <LoadError title="Could not load the workloads" error={workloads.error} onRetry={() => void workloads.refetch()} />
      ) : list.length === 0 ? (
        <FirstRunGuide />
      ) : (
        <div className="space-y-8">
          {list.length > shown.length && (
            <Alert tone="info" role="status">
              <p>
                Showing the charts of the first {shown.length} of {list.length} workloads.
              </p>
            </Alert>
          )}
          {!error && (
            <Suspense fallback={<Spinner label="Loading the charts…" />}>
              <WorkloadTrends workloads={shown} range={range} />
            </Suspense>
          )}
          <RecentRuns workloads={list} />
        </div>
      )}
    </>
  )
}
