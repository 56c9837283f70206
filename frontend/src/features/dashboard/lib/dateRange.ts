// The dashboard's date range: whole UTC days, as POST /api/query counts them.

export interface DateRange {
  /** First day, YYYY-MM-DD, inclusive. */
  start: string
  /** Last day, YYYY-MM-DD, inclusive. */
  end: string
}

/** The server refuses longer ranges. */
export const MAX_RANGE_DAYS = 366

export const PRESETS = [
  { days: 7, label: 'Last 7 days' },
  { days: 30, label: 'Last 30 days' },
  { days: 90, label: 'Last 90 days' },
  { days: 365, label: 'Last 365 days' },
] as const

export const DEFAULT_DAYS = 30

const DAY_MS = 86_400_000
const DATE = /^\d{4}-\d{2}-\d{2}$/

/** The UTC calendar day of `now`, as YYYY-MM-DD. */
export function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10)
}

function parseDay(day: string): number | undefined {
  if (!DATE.test(day)) return undefined
  const ms = Date.parse(`${day}T00:00:00Z`)
  // Date.parse rolls 2024-02-30 over to March; refuse days that do not exist.
  return Number.isNaN(ms) || utcDay(new Date(ms)) !== day ? undefined : ms
}

/** The day `n` days after `day` (before, when negative). */
export function addDays(day: string, n: number): string {
  const ms = parseDay(day)
  if (ms === undefined) throw new Error(`not a date: ${day}`)
  return utcDay(new Date(ms + n * DAY_MS))
}

/** The last `days` days up to and including today (UTC). */
export function lastDays(days: number, now: Date): DateRange {
  const end = utcDay(now)
  return { start: addDays(end, -(days - 1)), end }
}

/** How many days the range covers, both ends included. */
export function rangeDays(range: DateRange): number {
  const start = parseDay(range.start)
  const end = parseDay(range.end)
  if (start === undefined || end === undefined) return NaN
  return Math.round((end - start) / DAY_MS) + 1
}

/** What is wrong with the range, in words, or undefined when the server will take it. */
export function rangeError(range: DateRange): string | undefined {
  if (parseDay(range.start) === undefined) return 'Enter the first day as a date, such as 2024-01-31.'
  if (parseDay(range.end) === undefined) return 'Enter the last day as a date, such as 2024-12-31.'
  const days = rangeDays(range)
  if (days < 1) return `The range is reversed: ${range.end} is before ${range.start}.`
  if (days > MAX_RANGE_DAYS) return `The range spans ${days} days; choose at most ${MAX_RANGE_DAYS}.`
  return undefined
}

/** The preset that `range` equals today, or undefined for a custom range. */
export function presetOf(range: DateRange, now: Date): number | undefined {
  return PRESETS.find((p) => {
    const r = lastDays(p.days, now)
    return r.start === range.start && r.end === range.end
  })?.days
}
