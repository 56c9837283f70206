import { fireEvent, screen, within } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { describe, expect, it } from 'vitest'
import { jsonResponse, mockFetch, problem } from '../../../test/http'
import { renderWithQuery } from '../../../test/render'
import { DashboardPage } from './DashboardPage'


function renderAt(url: string) {
  return renderWithQuery(
    <MemoryRouter initialEntries={[url]}>
      <DashboardPage />
    </MemoryRouter>,
  )
}

const point = (date: string, value: number | null, count: number) => ({ date, value, count })

describe('DashboardPage', () => {
  it('shows how to record the first run when no workload exists', async () => {
    mockFetch({ 'GET /api/workloads?sort=recent&limit=1000': () => jsonResponse(200, { workloads: [] }) })
    renderAt('/')
    expect(await screen.findByRole('heading', { name: 'No pipeline runs yet' })).toBeVisible()
    expect(screen.getByText(/curl -X POST http:\/\/localhost:\d+\/api\/pipeline\/runs/)).toBeVisible()
    expect(screen.getByRole('link', { name: 'Service Tokens' })).toHaveAttribute('href', '/admin/service-tokens')
    expect(screen.queryByLabelText('From')).not.toBeInTheDocument()
  })

  it('asks for the range in the URL and shows each workload’s latest values', async () => {
    const requests = mockFetch({
      'GET /api/workloads?sort=recent&limit=1000': () => jsonResponse(200, { workloads: ['web'] }),
      'GET /api/pipeline/runs?limit=20': () => jsonResponse(200, []),
      'POST /api/query': () =>
        jsonResponse(200, {
          results: [
            { query: 'code-coverage', workload: 'web', unit: 'percent', points: [point('2026-11-01', 81.25, 2), point('2026-11-02', null, 0)] },
            { query: 'build-success-rate', workload: 'web', unit: 'percent', points: [point('2026-11-01', 50, 2), point('2026-11-02', 100, 1)] },
          ],
        }),
    })
    renderAt('/?from=2026-11-01&to=2026-11-02')
    const coverage = await screen.findByRole('figure', { name: 'Code coverage' })
    expect(coverage).toHaveTextContent('Latest 81.3% on Nov 1 (2 builds reporting coverage); 1 day with builds in this range.')
    expect(screen.getByRole('figure', { name: 'Build success rate' })).toHaveTextContent('Latest 100% on Nov 2 (1 finished build)')
    expect(within(coverage).getAllByRole('row')).toHaveLength(2)
    expect(screen.getByLabelText('Range')).toHaveValue('custom')

    const query = requests.find((r) => r.key === 'POST /api/query')!.request
    expect(await query.json()).toEqual({
      queries: ['code-coverage', 'build-success-rate'],
      workloads: ['web'],
      dateRange: { start: '2026-11-01', end: '2026-11-02' },
    })
    expect(await screen.findByText('No runs recorded for this workload.')).toBeVisible()
  })

  it('explains a reversed range and does not send it', async () => {
    const requests = mockFetch({
      'GET /api/workloads?sort=recent&limit=1000': () => jsonResponse(200, { workloads: ['web'] }),
      'GET /api/pipeline/runs?limit=20': () => jsonResponse(200, []),
    })
    renderAt('/?from=2026-11-05&to=2026-11-01')
    expect(await screen.findByRole('alert')).toHaveTextContent('The range is reversed: 2026-11-01 is before 2026-11-05.')
    expect(screen.getByLabelText('From')).toHaveAttribute('aria-invalid', 'true')
    await screen.findByText('No runs recorded for this workload.')
    expect(requests.map((r) => r.key)).not.toContain('POST /api/query')
  })

  it('shows the server’s words when the metrics cannot be loaded, and retries', async () => {
    let calls = 0
    mockFetch({
      'GET /api/workloads?sort=recent&limit=1000': () => jsonResponse(200, { workloads: ['web'] }),
      'GET /api/pipeline/runs?limit=20': () => jsonResponse(200, []),
      'POST /api/query': () => (++calls === 1 ? problem(503, 'Service Unavailable', 'The database is not reachable.') : jsonResponse(200, { results: [] })),
    })
    renderAt('/?from=2026-11-01&to=2026-11-02')
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Could not load the metrics')
    expect(alert).toHaveTextContent('The database is not reachable.')
    fireEvent.click(within(alert).getByRole('button', { name: 'Try again' }))
    expect(await screen.findByText('No builds in this range.')).toBeVisible()
  })
})
