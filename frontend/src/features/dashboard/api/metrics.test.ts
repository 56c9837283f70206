import { describe, expect, it } from 'vitest'
import { recordRunExample } from '../components/FirstRunGuide'
import { chartRows, latest, type Series } from './metrics'

const series: Series[] = [
  {
    query: 'code-coverage',
    workload: 'web',
    unit: 'percent',
    points: [
      { date: '2026-11-21', value: 70, count: 1 },
      { date: '2026-11-22', value: null, count: 0 },
      { date: '2026-11-23', value: 80.5, count: 2 },
    ],
  },
  {
    query: 'build-success-rate',
    workload: 'web',
    unit: 'percent',
    points: [
      { date: '2026-11-21', value: 100, count: 1 },
      { date: '2026-11-22', value: null, count: 0 },
      { date: '2026-11-23', value: 50, count: 4 },
    ],
  },
  { query: 'code-coverage', workload: 'api', unit: 'percent', points: [{ date: '2026-11-23', value: 10, count: 1 }] },
]

describe('chartRows', () => {
  it('merges one workload’s series into a row per day, gaps as null', () => {
    expect(chartRows(series, 'web')).toEqual([
      { date: '2026-11-21', coverage: 70, successRate: 100, coverageBuilds: 1, finishedBuilds: 1 },
      { date: '2026-11-22', coverage: null, successRate: null, coverageBuilds: 0, finishedBuilds: 0 },
      { date: '2026-11-23', coverage: 80.5, successRate: 50, coverageBuilds: 2, finishedBuilds: 4 },
    ])
    expect(chartRows(series, 'api')).toEqual([
      { date: '2026-11-23', coverage: 10, successRate: null, coverageBuilds: 1, finishedBuilds: 0 },
    ])
    expect(chartRows(series, 'none')).toEqual([])
  })

  it('finds the last day with a value', () => {
    const rows = chartRows(series, 'web')
    expect(latest(rows, 'coverage')?.date).toBe('2026-11-23')
    expect(latest(chartRows(series, 'api'), 'successRate')).toBeUndefined()
  })
})

describe('recordRunExample', () => {
  it('is a curl call with a body that has every field a run needs', () => {
    const example = recordRunExample('https://metrics.example.com')
    expect(example).toContain('curl -X POST https://metrics.example.com/api/pipeline/runs')
    const body = JSON.parse(/-d '([\s\S]*)'/.exec(example)![1]!) as Record<string, unknown>
    for (const field of ['id', 'workload', 'pipeline', 'kind', 'status', 'branch', 'commit', 'startedAt', 'finishedAt']) {
      expect(body).toHaveProperty(field)
    }
  })
})
