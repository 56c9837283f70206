// Readable dates: "in 12 days", "3 hours ago", with the exact time for a title attribute.

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

const relativeFormat = new Intl.RelativeTimeFormat('en', { numeric: 'always' })
const exactFormat = new Intl.DateTimeFormat('en-GB', {
  dateStyle: 'medium',
  timeStyle: 'long',
})

function toDate(value: string | Date): Date {
  return value instanceof Date ? value : new Date(value)
}

/** "in 12 days", "3 hours ago", "just now"; "" for an invalid date. */
export function relativeTime(value: string | Date, now: Date = new Date()): string {
  const date = toDate(value)
  if (Number.isNaN(date.getTime())) return ''
  const diff = date.getTime() - now.getTime()
  const abs = Math.abs(diff)
  const sign = diff < 0 ? -1 : 1
  if (abs < 45_000) return 'just now'
  if (abs < 45 * MINUTE) return relativeFormat.format(sign * Math.max(1, Math.round(abs / MINUTE)), 'minute')
  if (abs < 22 * HOUR) return relativeFormat.format(sign * Math.round(abs / HOUR), 'hour')
  if (abs < 45 * DAY) return relativeFormat.format(sign * Math.max(1, Math.round(abs / DAY)), 'day')
  if (abs < 345 * DAY) return relativeFormat.format(sign * Math.round(abs / (30.4375 * DAY)), 'month')
  return relativeFormat.format(sign * Math.max(1, Math.round(abs / (365.25 * DAY))), 'year')
}

/** The exact time, e.g. "23 Nov 2026, 10:30:00 UTC", in the browser's time zone. */
export function exactTime(value: string | Date): string {
  const date = toDate(value)
  if (Number.isNaN(date.getTime())) return String(value)
  return exactFormat.format(date)
}

/** Tokens expiring within this many days are highlighted. */
export const EXPIRING_SOON_DAYS = 30

export type ExpiryStatus = 'expired' | 'soon' | 'ok'

/** Whether a token has expired, expires within 30 days, or neither. */
export function expiryStatus(expires: string | Date, now: Date = new Date()): ExpiryStatus {
  const left = toDate(expires).getTime() - now.getTime()
  if (left <= 0) return 'expired'
  if (left <= EXPIRING_SOON_DAYS * DAY) return 'soon'
  return 'ok'
}

/** "365 days", "8 hours", "90 minutes": a duration in seconds in the largest whole unit. */
export function formatDuration(seconds: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`
  if (seconds > 0 && seconds % 86_400 === 0) return plural(seconds / 86_400, 'day')
  if (seconds > 0 && seconds % 3_600 === 0) return plural(seconds / 3_600, 'hour')
  if (seconds > 0 && seconds % 60 === 0) return plural(seconds / 60, 'minute')
  return plural(seconds, 'second')
}

/** "45s", "6m 12s", "1h 2m": how long something ran, for tables. */
export function formatElapsed(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3_600) return s % 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s / 60}m`
  const m = Math.floor(s / 60)
  return m % 60 ? `${Math.floor(m / 60)}h ${m % 60}m` : `${m / 60}h`
}

/**
 * How long until `until`, short and never more than is left: "23 h" with 23 h 59 min to go,
 * "45 min", "3 d"; "less than a minute" at the end, "" once it has passed.
 */
export function timeLeft(until: string | Date, now: Date = new Date()): string {
  const left = toDate(until).getTime() - now.getTime()
  if (!(left > 0)) return ''
  if (left < MINUTE) return 'less than a minute'
  if (left < HOUR) return `${Math.floor(left / MINUTE)} min`
  if (left < 2 * DAY) return `${Math.floor(left / HOUR)} h`
  return `${Math.floor(left / DAY)} d`
}
