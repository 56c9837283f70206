import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { MemoryRouter, Route, Routes } from 'react-router'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { jsonResponse, mockFetch, problem } from '../../../test/http'
import { renderWithQuery } from '../../../test/render'
import type { TokenUsage } from '../api/tokens'
import { serviceToken } from '../testing/fixtures'
import { TokenPage } from './TokenPage'

// Today, in UTC: the page asks for the last 30 (or 90) days up to it.
const NOW = new Date('2026-11-30T12:00:00.000Z')

const TOKEN = 'GET /api/tokens/tok-1'
const USAGE_30 = 'GET /api/tokens/tok-1/usage?from=2026-11-01&to=2026-11-30'
const USAGE_90 = 'GET /api/tokens/tok-1/usage?from=2026-09-02&to=2026-11-30'

function days(from: string, n: number, used: Record<string, [number, number]> = {}): TokenUsage['days'] {
  const start = Date.parse(`${from}T00:00:00Z`)
  return Array.from({ length: n }, (_, i) => {
    const date = new Date(start + i * 86_400_000).toISOString().slice(0, 10)
    const [requests, refused] = used[date] ?? [0, 0]
    return { date, requests, refused }
  })
}

const usage: TokenUsage = {
  from: '2026-11-01',
  to: '2026-11-30',
  days: days('2026-11-01', 30, { '2026-11-29': [40, 2], '2026-11-30': [5, 1] }),
  clients: [
    {
      address: '10.0.4.2',
      userAgent: 'e2e-usage-probe/1.0',
      firstSeen: '2026-11-29T08:00:00.000Z',
      lastSeen: '2026-11-30T11:58:00.000Z',
      requests: 44,
    },
    { address: '2001:db8::7', userAgent: '', firstSeen: '2026-11-29T09:00:00.000Z', lastSeen: '2026-11-29T10:00:00.000Z', requests: 1 },
  ],
}

const token = serviceToken({
  sub: 'nightly-export',
  serviceUserId: 3,
  scopes: ['metrics:read', 'pipeline:write'],
  description: 'Uploads the nightly build',
  lastUsed: '2026-11-30T11:58:00.000Z',
  lastUsedAddress: '10.0.4.2',
  lastUsedUserAgent: 'e2e-usage-probe/1.0',
  requests30d: 45,
})

function renderPage(path = '/admin/service-tokens/tok-1') {
  return renderWithQuery(
    <MemoryRouter initialEntries={[path]}>
      <Routes>
        <Route path="/admin/service-tokens/:tokenId" element={<TokenPage />} />
      </Routes>
    </MemoryRouter>,
  )
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW)
})

afterEach(() => {
  vi.useRealTimers()
})

describe('TokenPage', () => {
  it('shows the token, its daily requests and refusals, and its recent clients', async () => {
    mockFetch({ [TOKEN]: () => jsonResponse(200, token), [USAGE_30]: () => jsonResponse(200, usage) })
    renderPage()
    expect(await screen.findByRole('heading', { level: 1, name: 'nightly-export' })).toBeVisible()
    const details = screen.getByRole('region', { name: 'Details' })
    expect(within(details).getByText('Active')).toBeVisible()
    expect(within(details).getByText('tok-1')).toBeVisible()
    expect(within(details).getByText('metrics:read pipeline:write')).toBeVisible()
    expect(within(details).getByRole('link', { name: 'nightly-export' })).toHaveAttribute('href', '/admin/service-users/3')
    expect(details).toHaveTextContent('Last used2 minutes ago from 10.0.4.2')
    expect(details).toHaveTextContent('Last user agente2e-usage-probe/1.0')
    expect(details).toHaveTextContent('Created byada@example.com')
    expect(details).toHaveTextContent('DescriptionUploads the nightly build')

    const chart = await screen.findByRole('figure', { name: 'Requests per day' })
    expect(chart).toHaveTextContent('45 requests, 3 refused, on 2 days of 30.')
    expect(chart.querySelector('.recharts-responsive-container')).not.toBeNull()
    const numbers = within(chart).getAllByRole('row').slice(1)
    expect(numbers.map((r) => r.textContent)).toEqual(['Nov 29, 2026402', 'Nov 30, 202651'])

    const clients = screen.getByRole('table', { name: 'Recent clients' })
    const rows = within(clients).getAllByRole('row').slice(1)
    expect(rows).toHaveLength(2)
    expect(within(rows[0]!).getByRole('rowheader')).toHaveTextContent('10.0.4.2')
    expect(rows[0]).toHaveTextContent('e2e-usage-probe/1.0')
    expect(rows[0]).toHaveTextContent('2 minutes ago')
    expect(rows[0]).toHaveTextContent('44')
    expect(rows[1]).toHaveTextContent('2001:db8::7None sent')
  })

  it('asks for the last 90 days when chosen', async () => {
    const requests = mockFetch({
      [TOKEN]: () => jsonResponse(200, token),
      [USAGE_30]: () => jsonResponse(200, usage),
      [USAGE_90]: () => jsonResponse(200, { ...usage, from: '2026-09-02', days: days('2026-09-02', 90, { '2026-09-10': [7, 0] }) }),
    })
    renderPage()
    await screen.findByRole('figure', { name: 'Requests per day' })
    fireEvent.change(screen.getByLabelText('Range'), { target: { value: '90' } })
    await waitFor(() => expect(screen.getByRole('figure', { name: 'Requests per day' })).toHaveTextContent('7 requests, 0 refused, on 1 day of 90.'))
    expect(requests.map((r) => r.key)).toContain(USAGE_90)
  })

  it('says when nothing used the token', async () => {
    mockFetch({
      [TOKEN]: () => jsonResponse(200, serviceToken()),
      [USAGE_30]: () => jsonResponse(200, { ...usage, days: days('2026-11-01', 30), clients: [] }),
    })
    renderPage()
    const chart = await screen.findByRole('figure', { name: 'Requests per day' })
    expect(chart).toHaveTextContent('No requests in these 30 days.')
    expect(chart.querySelector('.recharts-responsive-container')).toBeNull() // no empty axes
    expect(screen.getByText('No client has used this token recently.')).toBeVisible()
    expect(screen.queryByRole('table', { name: 'Recent clients' })).not.toBeInTheDocument()
    expect(screen.getByRole('region', { name: 'Details' })).toHaveTextContent('Last usedNever')
  })

  it('warns that an ended token is still presented', async () => {
    mockFetch({
      [TOKEN]: () =>
        jsonResponse(
          200,
          serviceToken({
            status: 'revoked',
            revoked: '2026-11-20T00:00:00.000Z',
            ends: '2026-11-20T00:00:00.000Z',
            stillPresented: { times: 3, lastSeen: '2026-11-30T11:00:00.000Z', lastAddress: '10.0.4.2' },
          }),
        ),
      [USAGE_30]: () => jsonResponse(200, usage),
    })
    renderPage()
    const details = await screen.findByRole('region', { name: 'Details' })
    expect(details).toHaveTextContent('Still presented 3 times, last from 10.0.4.2, 1 hour ago')
  })

  it('says so when there is no token with that id', async () => {
    const requests = mockFetch({ 'GET /api/tokens/nope': () => problem(404, 'Not Found', 'no token with that id', 'not_found') })
    renderPage('/admin/service-tokens/nope')
    expect(await screen.findByRole('heading', { level: 1, name: 'Token not found' })).toBeVisible()
    expect(screen.getByText(/No token with that id/)).toHaveTextContent('No token with that id: nope.')
    expect(screen.getByRole('link', { name: 'All service tokens' })).toHaveAttribute('href', '/admin/service-tokens')
    expect(requests.map((r) => r.key)).toEqual(['GET /api/tokens/nope'])
  })

  it('shows other errors with a way to retry', async () => {
    mockFetch({ [TOKEN]: () => problem(503, 'Service Unavailable', 'The database is not reachable.') })
    renderPage()
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Could not load the token')
    expect(alert).toHaveTextContent('The database is not reachable.')
  })
})
