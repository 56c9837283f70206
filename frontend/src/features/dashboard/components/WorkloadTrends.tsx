import { useId } from 'react'
import { LoadError } from '../../../components/ui/LoadError'
import { Spinner } from '../../../components/ui/Spinner'
import { chartRows, latest, useDashboardSeries, type ChartRow } from '../api/metrics'
import type { DateRange } from '../lib/dateRange'
import { TrendChart } from './TrendChart'

/** Per workload: its coverage and build success rate charts. Loaded on its own, with the chart library. */
export default function WorkloadTrends({ workloads, range }: { workloads: string[]; range: DateRange }) {
  const query = useDashboardSeries(workloads, range)
  if (query.isPending) return <Spinner label="Loading the metrics…" />
  if (query.isError)
    return <LoadError title="Could not load the metrics" error={query.error} onRetry={() => void query.refetch()} />
  return (
    <div className={`space-y-6 ${query.isPlaceholderData ? 'opacity-60' : ''}`} aria-busy={query.isPlaceholderData || undefined}>
      {workloads.map((workload) => (
        <WorkloadSection key={workload} workload={workload} rows={chartRows(query.data, workload)} />
      ))}
    </div>
  )
}

function WorkloadSection({ workload, rows }: { workload: string; rows: ChartRow[] }) {
  const id = useId()
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id} className="mb-4 text-lg font-semibold break-all">
        {workload}
      </h2>
      {latest(rows, 'coverage') || latest(rows, 'successRate') ? (
        <div className="grid gap-6 lg:grid-cols-2">
          <TrendChart rows={rows} trend="coverage" />
          <TrendChart rows={rows} trend="successRate" />
        </div>
      ) : (
        <p className="muted text-sm">No builds in this range.</p>
      )}
    </section>
  )
}
