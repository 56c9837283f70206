import { useId } from 'react'
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis, type TooltipContentProps } from 'recharts'
import { latest, type ChartRow } from '../api/metrics'

export type TrendKey = 'coverage' | 'successRate'

const trends = {
  coverage: { title: 'Code coverage', count: 'coverageBuilds', what: ['build reporting coverage', 'builds reporting coverage'], className: 'chart-coverage' },
  successRate: { title: 'Build success rate', count: 'finishedBuilds', what: ['finished build', 'finished builds'], className: 'chart-success' },
} as const

const dayFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' })
const longDayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' })

function day(date: string, format = dayFormat): string {
  return format.format(new Date(`${date}T00:00:00Z`))
}

function percent(value: number): string {
  return `${Number.isInteger(value) ? value : value.toFixed(1)}%`
}

function plural(n: number, [one, many]: readonly [string, string]): string {
  return `${n} ${n === 1 ? one : many}`
}

function TrendTooltip({ active, payload, trend }: Pick<TooltipContentProps, 'active' | 'payload'> & { trend: TrendKey }) {
  const row = payload?.[0]?.payload as ChartRow | undefined
  const value = row?.[trend]
  if (!active || !row || value === null || value === undefined) return null
  const { count, what } = trends[trend]
  return (
    <div className="rounded-md border border-slate-200 bg-white px-3 py-2 text-xs shadow-md dark:border-slate-700 dark:bg-slate-900">
      <p className="font-semibold">{day(row.date, longDayFormat)}</p>
      <p>
        {percent(value)} · {plural(row[count], what)}
      </p>
    </div>
  )
}

/**
 * One workload's daily trend as a line chart: a point for each day with builds, the line
 * joining them across days without any; the numbers as a table for screen readers and copying.
 */
export function TrendChart({ rows, trend }: { rows: ChartRow[]; trend: TrendKey }) {
  const id = useId()
  const { title, count, what, className } = trends[trend]
  const last = latest(rows, trend)
  const days = rows.filter((r) => r[trend] !== null)
  return (
    <figure className={`chart ${className} min-w-0 space-y-2`} aria-labelledby={`${id}-title`} aria-describedby={`${id}-summary`}>
      <figcaption>
        <h3 id={`${id}-title`} className="text-sm font-semibold">
          {title}
        </h3>
        <p id={`${id}-summary`} className="muted text-xs">
          {last
            ? `Latest ${percent(last[trend]!)} on ${day(last.date)} (${plural(last[count], what)}); ${plural(days.length, ['day', 'days'])} with builds in this range.`
            : 'No builds in this range.'}
        </p>
      </figcaption>
      {days.length > 0 && (
        <div className="h-48">
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={rows} margin={{ top: 8, right: 12, bottom: 0, left: 0 }} title={`${title}, per day`}>
              <CartesianGrid vertical={false} />
              <XAxis dataKey="date" tickFormatter={(d: string) => day(d)} minTickGap={24} tickLine={false} />
              <YAxis domain={[0, 100]} ticks={[0, 25, 50, 75, 100]} unit="%" width={44} tickLine={false} axisLine={false} />
              <Tooltip content={(props) => <TrendTooltip {...props} trend={trend} />} isAnimationActive={false} />
              <Line
                type="linear"
                dataKey={trend}
                name={title}
                connectNulls
                dot={{ r: 3 }}
                activeDot={{ r: 5 }}
                isAnimationActive={false}
              />
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
      {days.length > 0 && (
        <details className="text-xs">
          <summary className="muted cursor-pointer">Show the numbers</summary>
          <table className="mt-2 w-full">
            <caption className="sr-only">{title} per day</caption>
            <thead>
              <tr>
                <th scope="col" className="py-1 text-left font-semibold">
                  Day
                </th>
                <th scope="col" className="py-1 text-right font-semibold">
                  {title}
                </th>
                <th scope="col" className="py-1 text-right font-semibold">
                  Builds
                </th>
              </tr>
            </thead>
            <tbody>
              {days.map((r) => (
                <tr key={r.date}>
                  <th scope="row" className="py-0.5 text-left font-normal">
                    <time dateTime={r.date}>{day(r.date, longDayFormat)}</time>
                  </th>
                  <td className="py-0.5 text-right tabular-nums">{percent(r[trend]!)}</td>
                  <td className="py-0.5 text-right tabular-nums">{r[count]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </figure>
  )
}
