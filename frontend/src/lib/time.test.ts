import { describe, expect, it } from 'vitest'
import { expiryStatus, formatDuration, formatElapsed, relativeTime, timeLeft } from './time'

const now = new Date('2026-11-23T10:00:00Z')
const at = (ms: number) => new Date(now.getTime() + ms)
const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

describe('relativeTime', () => {
  it.each([
    [at(10_000), 'just now'],
    [at(-30_000), 'just now'],
    [at(5 * MIN), 'in 5 minutes'],
    [at(-3 * HOUR), '3 hours ago'],
    [at(12 * DAY), 'in 12 days'],
    [at(-1 * DAY), '1 day ago'],
    [at(30 * DAY), 'in 30 days'],
    [at(90 * DAY), 'in 3 months'],
    [at(365 * DAY), 'in 1 year'],
    [at(-730 * DAY), '2 years ago'],
  ])('%s → %s', (date, expected) => {
    expect(relativeTime(date, now)).toBe(expected)
  })

  it('accepts ISO strings and ignores invalid dates', () => {
    expect(relativeTime('2026-11-23T07:00:00.000Z', now)).toBe('3 hours ago')
    expect(relativeTime('not a date', now)).toBe('')
  })
})

describe('expiryStatus', () => {
  it.each([
    [at(-1), 'expired'],
    [at(0), 'expired'],
    [at(1 * DAY), 'soon'],
    [at(30 * DAY), 'soon'],
    [at(30 * DAY + MIN), 'ok'],
    [at(365 * DAY), 'ok'],
  ])('%s → %s', (date, expected) => {
    expect(expiryStatus(date, now)).toBe(expected)
  })
})

describe('formatDuration', () => {
  it.each([
    [31_536_000, '365 days'],
    [86_400, '1 day'],
    [28_800, '8 hours'],
    [5_400, '90 minutes'],
    [59, '59 seconds'],
  ])('%d s → %s', (seconds, expected) => {
    expect(formatDuration(seconds)).toBe(expected)
  })
})

describe('formatElapsed', () => {
  it('says how long a run took in the two largest units', () => {
    expect(formatElapsed(0)).toBe('0s')
    expect(formatElapsed(45.4)).toBe('45s')
    expect(formatElapsed(372)).toBe('6m 12s')
    expect(formatElapsed(300)).toBe('5m')
    expect(formatElapsed(3_720)).toBe('1h 2m')
    expect(formatElapsed(7_200)).toBe('2h')
    expect(formatElapsed(-5)).toBe('0s')
  })
})

describe('timeLeft', () => {
  it.each([
    [at(24 * HOUR - 1_000), '23 h'],
    [at(90 * MIN), '1 h'],
    [at(45 * MIN + 30_000), '45 min'],
    [at(30_000), 'less than a minute'],
    [at(3 * DAY + HOUR), '3 d'],
    [at(0), ''],
    [at(-HOUR), ''],
  ])('%s → %s, never more than is left', (until, want) => {
    expect(timeLeft(until, now)).toBe(want)
  })
})
