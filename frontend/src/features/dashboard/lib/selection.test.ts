import { describe, expect, it } from 'vitest'
import {
  DEFAULT_CHARTED,
  MAX_QUERY_WORKLOADS,
  chartedWorkloads,
  matchingWorkloads,
  parseSelection,
  toggleWorkload,
  writeSelection,
} from './selection'

const names = (n: number, prefix = 'w') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`)

describe('the choice in the URL', () => {
  it('is absent until the user chooses, in order and without repeats after', () => {
    expect(parseSelection(new URLSearchParams('from=2026-11-01'))).toBeUndefined()
    expect(parseSelection(new URLSearchParams('workload=web&workload=api&workload=web'))).toEqual(['web', 'api'])
    // Every workload taken off: a choice of none, not the default.
    expect(parseSelection(new URLSearchParams('workload='))).toEqual([])
  })

  it('round-trips through the URL and keeps the other parameters', () => {
    const params = new URLSearchParams('from=2026-11-01&to=2026-11-30')
    const chosen = writeSelection(params, ['team/web', 'api'])
    expect(chosen.toString()).toBe('from=2026-11-01&to=2026-11-30&workload=team%2Fweb&workload=api')
    expect(parseSelection(chosen)).toEqual(['team/web', 'api'])
    expect(parseSelection(writeSelection(chosen, []))).toEqual([])
    expect(writeSelection(chosen, undefined).toString()).toBe('from=2026-11-01&to=2026-11-30')
    expect(params.toString()).toBe('from=2026-11-01&to=2026-11-30') // not changed in place
  })
})

describe('chartedWorkloads', () => {
  const list = { names: ['recent', 'older', ...names(60, 'old')], total: 62 }

  it('charts the dozen most recently active until the user chooses', () => {
    const charted = chartedWorkloads(undefined, list)
    expect(charted.workloads).toEqual(list.names.slice(0, DEFAULT_CHARTED))
    expect(charted.workloads).toHaveLength(12)
    expect(charted.chosen).toBe(false)
    expect(chartedWorkloads(undefined, { names: ['a', 'b'], total: 2 }).workloads).toEqual(['a', 'b'])
  })

  it('charts the choice in its order, leaving out names no workload has', () => {
    expect(chartedWorkloads(['old-5', 'gone', 'recent'], list)).toEqual({
      workloads: ['old-5', 'recent'],
      chosen: true,
      unknown: ['gone'],
      overLimit: 0,
    })
    expect(chartedWorkloads([], list)).toEqual({ workloads: [], chosen: true, unknown: [], overLimit: 0 })
  })

  it('trusts names it has not loaded when more workloads exist than were loaded', () => {
    expect(chartedWorkloads(['not-loaded', 'recent'], { names: list.names, total: 5000 }).workloads).toEqual(['not-loaded', 'recent'])
  })

  it('charts no more than one query takes', () => {
    const many = { names: names(80), total: 80 }
    const charted = chartedWorkloads(many.names, many)
    expect(charted.workloads).toEqual(many.names.slice(0, MAX_QUERY_WORKLOADS))
    expect(charted.overLimit).toBe(30)
  })
})

describe('toggleWorkload', () => {
  it('adds a workload first and takes a charted one off', () => {
    expect(toggleWorkload(['a', 'b'], 'c')).toEqual(['c', 'a', 'b'])
    expect(toggleWorkload(['a', 'b'], 'a')).toEqual(['b'])
  })

  it(`refuses a ${MAX_QUERY_WORKLOADS + 1}st workload, but still takes one off`, () => {
    const full = names(MAX_QUERY_WORKLOADS)
    expect(toggleWorkload(full, 'another')).toBeUndefined()
    expect(toggleWorkload(full, 'w-3')).toHaveLength(MAX_QUERY_WORKLOADS - 1)
  })
})

describe('matchingWorkloads', () => {
  it('keeps the names containing the search in any case, in their order, and counts the rest', () => {
    expect(matchingWorkloads(['Web-Shop', 'api', 'web'], ' WEB ', 10)).toEqual({ options: ['Web-Shop', 'web'], more: 0 })
    expect(matchingWorkloads(names(500), '', 50)).toEqual({ options: names(50), more: 450 })
    // w-49, w-149, w-249, w-349, w-449 and w-490 to w-499.
    expect(matchingWorkloads(names(500), '49', 3)).toEqual({ options: ['w-49', 'w-149', 'w-249'], more: 12 })
    expect(matchingWorkloads(names(500), 'x', 50)).toEqual({ options: [], more: 0 })
  })
})
