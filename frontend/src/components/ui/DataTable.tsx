import type { ReactNode } from 'react'
import { RelativeTime } from './RelativeTime'

/** A body cell's padding and type: `${cell} whitespace-nowrap` and the like. */
export const cell = 'px-4 py-3 align-top text-sm'

/** The same, a little tighter, for the long lists of runs. */
export const compactCell = 'px-4 py-2.5 align-top text-sm'

/** A body cell of a `dense` table: less space between its many columns. */
export const denseCell = 'px-3 py-3 align-top text-sm'

const headerText = 'py-3 text-left text-xs font-semibold tracking-wide text-slate-600 uppercase dark:text-slate-400'

/** A column: its heading, and whether it is aligned right (an Actions column). */
export type Column = string | { label: string; align: 'right' }

interface DataTableProps {
  /** Read by screen readers only; tests find the table by it too. */
  caption: string
  columns: readonly Column[]
  /** The name of a focusable scroll region around the table, for keyboard users on narrow screens. */
  region?: string
  /** Less space between columns (its body cells use `denseCell`), for a table of many columns. */
  dense?: boolean
  /** The rows. */
  children: ReactNode
}

/** The portal's table of items: bordered, striped by dividers, scrolling sideways when narrow. */
export function DataTable({ caption, columns, region, dense = false, children }: DataTableProps) {
  const headerCell = `${dense ? 'px-3' : 'px-4'} ${headerText}`
  const frame = 'overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900'
  const table = (
    <table className="min-w-full divide-y divide-slate-200 dark:divide-slate-800">
      <caption className="sr-only">{caption}</caption>
      <thead className="bg-slate-50 dark:bg-slate-900">
        <tr>
          {columns.map((column) =>
            typeof column === 'string' ? (
              <th key={column} scope="col" className={headerCell}>
                {column}
              </th>
            ) : (
              <th key={column.label} scope="col" className={`${headerCell} text-right`}>
                {column.label}
              </th>
            ),
          )}
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-200 dark:divide-slate-800">{children}</tbody>
    </table>
  )
  if (!region) return <div className={frame}>{table}</div>
  return (
    <div tabIndex={0} role="region" aria-label={region} className={frame}>
      {table}
    </div>
  )
}

/** A last use, or "Never". */
export function LastUsed({ value, now }: { value: string | null; now?: Date }) {
  return value ? <RelativeTime value={value} now={now} /> : <span className="muted">Never</span>
}
