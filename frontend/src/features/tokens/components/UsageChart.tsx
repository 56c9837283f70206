import { useId } from 'react'
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis, type TooltipContentProps } from 'recharts'
import type { TokenUsage } from '../api/tokens'

type UsageDay = TokenUsage['days'][number]

/** A day of the chart: its accepted and refused requests stacked, so that the bar is all of them. */
interface UsageRow extends UsageDay {
  accepted: number
}

const dayFormat = new Intl.DateTimeFormat('en', { month: 'short', day: 'numeric', timeZone: 'UTC' })
const longDayFormat = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeZone: 'UTC' })

function day(date: string, format = dayFormat): string {
  return format.format(new Date(`${date}T00:00:00Z`))
}

function count(n: number, [one, many]: readonly [string, string]): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`
}

function UsageTooltip({ active, payload }: Pick<TooltipContentProps, 'active' | 'payload'>) {
  const row = payload?.[0]?.payload as UsageRow | undefined
  if (!active || !row) return null
  return (
    <div className="rounded-md border border-slate-200 bg-white px-3 py-2 text-xs shadow-md dark:border-slate-700 dark:bg-slate-900">
      <p className="font-semibold">{day(row.date, longDayFormat)}</p>
      <p>
        {count(row.requests, ['request', 'requests'])} · {row.refused.toLocaleString('en')} refused
      </p>
    </div>
  )
}

/**
 * A token's requests per UTC day as stacked bars (accepted, refused on top), with a summary
 * and the numbers as a table for screen readers and copying; only the summary when there were none. Loaded on its own, with the chart library.
 */
export default function UsageChart({ days }: { days: UsageDay[] }) {
  const id = useId()
  const rows: UsageRow[] = days.map((d) => ({ ...d, accepted: Math.max(0, d.requests - d.refused) }))
  const requests = days.reduce((sum, d) => sum + d.requests, 0)
  const refused = days.reduce((sum, d) => sum + d.refused, 0)
  const used = days.filter((d) => d.requests > 0)
  return (
    <figure className="chart chart-usage min-w-0 space-y-2" aria-labelledby={`${id}-title`} aria-describedby={`${id}-summary`}>
      <figcaption>
        <h3 id={`${id}-title`} className="text-sm font-semibold">
          Requests per day
        </h3>
        <p id={`${id}-summary`} className="muted text-xs">
          {requests > 0
            ? `${count(requests, ['request', 'requests'])}, ${refused.toLocaleString('en')} refused, on ${count(used.length, ['day', 'days'])} of ${days.length}.`
            : `No requests in these ${days.length} days.`}
        </p>
      </figcaption>
      {requests > 0 && (
        <>
          <div className="h-48">
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={rows} margin={{ top: 8, right: 12, bottom: 0, left: 0 }} title="Requests per day" barCategoryGap="15%">
                <CartesianGrid vertical={false} />
                <XAxis dataKey="date" tickFormatter={(d: string) => day(d)} minTickGap={24} tickLine={false} />
                <YAxis allowDecimals={false} width={44} tickLine={false} axisLine={false} />
                <Tooltip content={(props) => <UsageTooltip {...props} />} isAnimationActive={false} />
                <Bar dataKey="accepted" name="Accepted" stackId="requests" className="usage-accepted" isAnimationActive={false} />
                <Bar dataKey="refused" name="Refused" stackId="requests" className="usage-refused" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
          <ul className="flex gap-4 text-xs" aria-hidden="true">
            <li className="flex items-center gap-1.5">
              <span className="inline-block size-3 rounded-sm bg-blue-600 dark:bg-blue-400" />
              Accepted
            </li>
            <li className="flex items-center gap-1.5">
              <span className="inline-block size-3 rounded-sm bg-red-600 dark:bg-red-400" />
              Refused (403, 429, or 401 once ended)
            </li>
          </ul>
        </>
      )}
      {used.length > 0 && (
        <details className="text-xs">
          <summary className="muted cursor-pointer">Show the numbers</summary>
          <table className="mt-2 w-full">
            <caption className="sr-only">Requests per day</caption>
            <thead>
              <tr>
                <th scope="col" className="py-1 text-left font-semibold">
                  Day
                </th>
                <th scope="col" className="py-1 text-right font-semibold">
                  Requests
                </th>
                <th scope="col" className="py-1 text-right font-semibold">
                  Refused
                </th>
              </tr>
            </thead>
            <tbody>
              {used.map((d) => (
                <tr key={d.date}>
                  <th scope="row" className="py-0.5 text-left font-normal">
                    <time dateTime={d.date}>{day(d.date, longDayFormat)}</time>
                  </th>
                  <td className="py-0.5 text-right tabular-nums">{d.requests.toLocaleString('en')}</td>
                  <td className="py-0.5 text-right tabular-nums">{d.refused.toLocaleString('en')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </figure>
  )
}
