import { describe, expect, it } from 'vitest'
import { addDays, lastDays, presetOf, rangeDays, rangeError, utcDay } from './dateRange'

// 23:30 in New York is already the next day in UTC: the dashboard counts UTC days, like the server.
const now = new Date('2026-11-24T04:30:00Z')

describe('date ranges', () => {
  it('takes today from the UTC calendar', () => {
    expect(utcDay(now)).toBe('2026-11-24')
    expect(lastDays(7, now)).toEqual({ start: '2026-11-18', end: '2026-11-24' })
    expect(rangeDays(lastDays(30, now))).toBe(30)
  })

  it('adds days across months, years and leap days', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29')
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29')
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01')
    expect(() => addDays('2026-02-30', 1)).toThrow(/not a date/)
  })

  it('explains what the server would refuse', () => {
    expect(rangeError({ start: '2026-11-01', end: '2026-11-01' })).toBeUndefined()
    expect(rangeError({ start: '', end: '2026-11-01' })).toMatch(/first day/)
    expect(rangeError({ start: '2026-11-01', end: '2026-02-30' })).toMatch(/last day/)
    expect(rangeError({ start: '2026-11-02', end: '2026-11-01' })).toBe('The range is reversed: 2026-11-01 is before 2026-11-02.')
    expect(rangeError({ start: '2025-01-01', end: '2026-01-01' })).toBeUndefined() // 366 days
    expect(rangeError({ start: '2024-12-31', end: '2026-01-01' })).toMatch(/spans 367 days; choose at most 366/)
  })

  it('recognises the presets and calls anything else custom', () => {
    expect(presetOf(lastDays(90, now), now)).toBe(90)
    expect(presetOf({ start: '2026-11-18', end: '2026-11-23' }, now)).toBeUndefined()
  })
})
