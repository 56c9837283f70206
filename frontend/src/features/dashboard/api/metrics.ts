import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { client, ok, okWithHeaders, type Schemas } from '../../../lib/api'
import { useInfiniteList } from '../../../lib/useInfiniteList'
import type { DateRange } from '../lib/dateRange'
import { PICKER_OPTIONS, type WorkloadList } from '../lib/selection'

export type Run = Schemas['Run']
export type Series = Schemas['Series']

/** The queries the dashboard charts. */
export const DASHBOARD_QUERIES = ['code-coverage', 'build-success-rate'] as const satisfies Schemas['QueryName'][]

export const RECENT_RUNS = 20

/** The most workloads the dashboard loads in one go (the most GET /api/workloads gives). */
export const WORKLOADS_LOADED = 1000

async function fetchWorkloads(query: { q?: string; limit: number }, signal: AbortSignal): Promise<WorkloadList> {
  const { data, headers } = await okWithHeaders(
    client.GET('/api/workloads', { params: { query: { sort: 'recent', ...query } }, signal }),
  )
  const total = Number(headers.get('X-Total-Count'))
  return { names: data.workloads, total: Number.isFinite(total) && total >= data.workloads.length ? total : data.workloads.length }
}

/** The workloads, most recently active first: up to WORKLOADS_LOADED, and how many exist. */
export function useWorkloads() {
  return useQuery({
    queryKey: ['workloads', 'recent'],
    queryFn: ({ signal }) => fetchWorkloads({ limit: WORKLOADS_LOADED }, signal),
  })
}

/**
 * The workloads whose name contains `q`, most recently active first, from the server: for the
 * picker when more workloads exist than were loaded (`enabled`). The previous answer stays
 * while the next one loads, so typing does not flicker.
 */
export function useWorkloadSearch(q: string, enabled: boolean) {
  return useQuery({
    queryKey: ['workloads', 'recent', { q }],
    enabled: enabled && q !== '',
    placeholderData: keepPreviousData,
    queryFn: ({ signal }) => fetchWorkloads({ q, limit: PICKER_OPTIONS }, signal),
  })
}

/** Daily coverage and build success rate of `workloads` over `range` (UTC days). */
export function useDashboardSeries(workloads: string[], range: DateRange | undefined) {
  return useQuery({
    queryKey: ['query', { workloads, range }],
    enabled: workloads.length > 0 && range !== undefined,
    placeholderData: keepPreviousData,
    queryFn: async ({ signal }) =>
      (
        await ok(
          client.POST('/api/query', {
            body: { queries: [...DASHBOARD_QUERIES], workloads, dateRange: range! },
            signal,
          }),
        )
      ).results,
  })
}

/** The newest runs, of one workload or of all, a page at a time ("Load more"). */
export function useRecentRuns(workload: string) {
  return useInfiniteList(['runs', { workload }], (cursor, signal) =>
    client.GET('/api/pipeline/runs', { params: { query: { limit: RECENT_RUNS, workload: workload || undefined, cursor } }, signal }),
  )
}

/** One day of a workload's chart: null where the day had no build to measure. */
export interface ChartRow {
  date: string
  coverage: number | null
  successRate: number | null
  /** Builds that reported coverage, and builds that finished (success or failure). */
  coverageBuilds: number
  finishedBuilds: number
}

/** The series of one workload, merged into one row per day for its charts. */
export function chartRows(series: Series[], workload: string): ChartRow[] {
  const rows = new Map<string, ChartRow>()
  const row = (date: string) => {
    let r = rows.get(date)
    if (!r) {
      r = { date, coverage: null, successRate: null, coverageBuilds: 0, finishedBuilds: 0 }
      rows.set(date, r)
    }
    return r
  }
  for (const s of series) {
    if (s.workload !== workload) continue
    for (const p of s.points) {
      const r = row(p.date)
      if (s.query === 'code-coverage') {
        r.coverage = p.value ?? null
        r.coverageBuilds = p.count
      } else if (s.query === 'build-success-rate') {
        r.successRate = p.value ?? null
        r.finishedBuilds = p.count
      }
    }
  }
  return [...rows.values()].sort((a, b) => a.date.localeCompare(b.date))
}

/** The last day with a value, or undefined when the range has none. */
export function latest(rows: ChartRow[], key: 'coverage' | 'successRate'): ChartRow | undefined {
  for (let i = rows.length - 1; i >= 0; i--) if (rows[i]![key] !== null) return rows[i]
  return undefined
}
