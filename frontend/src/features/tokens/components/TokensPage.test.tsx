import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { MemoryRouter, Route, Routes, useLocation } from 'react-router'
import { describe, expect, it } from 'vitest'
import { jsonResponse, mockFetch, listResponse, problem } from '../../../test/http'
import { renderWithQuery } from '../../../test/render'
import { serviceToken } from '../testing/fixtures'
import { TokensPage } from './TokensPage'

const HOUR = 3_600_000
const ACTIVE = 'GET /api/tokens?limit=50&sort=created'
const REPLACED = 'GET /api/tokens?limit=100&sort=created&status=rotated'

const list = listResponse

function Search() {
  return <output aria-label="search">{useLocation().search}</output>
}

function renderPage(url = '/admin/service-tokens') {
  return renderWithQuery(
    <MemoryRouter initialEntries={[url]}>
      <Routes>
        <Route
          path="/admin/service-tokens"
          element={
            <>
              <TokensPage />
              <Search />
            </>
          }
        />
      </Routes>
    </MemoryRouter>,
  )
}

const row = (id: string) => document.querySelector<HTMLElement>(`tr[data-token-id="${id}"]`)

describe('TokensPage', () => {
  it('shows above the active tokens the replaced ones still in their grace period, not those that ended', async () => {
    mockFetch({
      [ACTIVE]: list([serviceToken({ tokenId: 'new', replaces: 'old' })]),
      [REPLACED]: list([
        serviceToken({ tokenId: 'old', status: 'rotated', replacedBy: 'new', ends: new Date(Date.now() + 5 * HOUR).toISOString() }),
        serviceToken({ tokenId: 'gone', status: 'rotated', replacedBy: 'x', ends: new Date(Date.now() - HOUR).toISOString() }),
      ]),
    })
    renderPage()
    expect(await screen.findByRole('table', { name: 'Active service tokens' })).toBeVisible()
    await waitFor(() => expect(row('old')).not.toBeNull())
    expect(row('old')).toHaveTextContent('replaced — stops working in 4 h')
    expect(row('new')).toHaveTextContent('Active')
    expect(row('gone')).toBeNull()
    expect(screen.getByText('Showing 1 of 1 token')).toBeVisible()
  })

  it('filters the history by status through the URL', async () => {
    const ago = new Date(Date.now() - HOUR).toISOString()
    const requests = mockFetch({
      [ACTIVE]: list([serviceToken()]),
      [REPLACED]: list([]),
      'GET /api/tokens?limit=50&sort=created&status=revoked': list([
        serviceToken({ tokenId: 'rev', status: 'revoked', revoked: ago, ends: ago, revokedBy: 'ada@example.com' }),
      ]),
      'GET /api/tokens?limit=50&sort=created&status=expired': list([]),
    })
    renderPage()
    expect(await screen.findByRole('table', { name: 'Active service tokens' })).toBeVisible()
    fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'revoked' } })
    expect(await screen.findByRole('table', { name: 'Service tokens: revoked' })).toBeVisible()
    expect(screen.getByLabelText('search')).toHaveTextContent('?status=revoked')
    await waitFor(() => expect(row('rev')).toHaveTextContent(/revoked 1 hour ago by ada@example\.com/))

    fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'expired' } })
    expect(await screen.findByText('No expired token yet.')).toBeVisible()
    fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'active' } })
    await waitFor(() => expect(screen.getByLabelText('search')).toHaveTextContent(/^$/))
    // The history is asked only of the server's history filter; the active list is the default.
    expect(requests.some((r) => r.key === 'GET /api/tokens?limit=50&sort=created&status=active')).toBe(false)
  })

  it('lists only the stale tokens when asked, marks them, and exports what the filters select', async () => {
    const requests = mockFetch({
      [ACTIVE]: list([serviceToken({ tokenId: 'fresh' }), serviceToken({ tokenId: 'old', stale: true })]),
      [REPLACED]: list([]),
      'GET /api/tokens?limit=50&sort=created&stale=true': list([serviceToken({ tokenId: 'old', stale: true })]),
    })
    renderPage()
    expect(await screen.findByRole('table', { name: 'Active service tokens' })).toBeVisible()
    await waitFor(() => expect(row('old')).toHaveTextContent('Stale'))
    expect(row('fresh')).not.toHaveTextContent('Stale')
    expect(screen.getByRole('link', { name: 'Export CSV' })).toHaveAttribute('href', '/api/tokens/export?format=csv&sort=created')

    fireEvent.click(screen.getByLabelText('Stale only'))
    expect(await screen.findByRole('table', { name: 'Stale service tokens' })).toBeVisible()
    expect(screen.getByLabelText('search')).toHaveTextContent('?stale=true')
    await waitFor(() => expect(row('fresh')).toBeNull())
    expect(row('old')).not.toBeNull()
    expect(screen.getByRole('link', { name: 'Export CSV' })).toHaveAttribute(
      'href',
      '/api/tokens/export?format=csv&sort=created&stale=true',
    )
    expect(requests.some((r) => r.key === 'GET /api/tokens?limit=50&sort=created&stale=true')).toBe(true)

    // A history has no stale tokens: the filter is not offered there and not sent.
    fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'revoked' } })
    await waitFor(() => expect(screen.queryByLabelText('Stale only')).toBeNull())
    expect(screen.getByRole('link', { name: 'Export CSV' })).toHaveAttribute(
      'href',
      '/api/tokens/export?format=csv&sort=created&status=revoked',
    )
  })

  it('revokes the selected tokens at once, after a dry run says how many are still active', async () => {
    const bodies: { ids: string[]; dryRun: boolean; reason?: string }[] = []
    const requests = mockFetch({
      [ACTIVE]: list([serviceToken({ tokenId: 'a', sub: 'alpha' }), serviceToken({ tokenId: 'b', sub: 'beta' }), serviceToken({ tokenId: 'c', sub: 'gamma' })]),
      [REPLACED]: list([]),
      'POST /api/tokens/revoke': async (request) => {
        const body = (await request.json()) as (typeof bodies)[number]
        bodies.push(body)
        return jsonResponse(200, {
          results: body.ids.map((id, i) => ({ id, status: i === 0 ? 'already_ended' : 'revoked' })),
          revoked: body.ids.length - 1,
          dryRun: body.dryRun,
        })
      },
    })
    renderPage()
    expect(await screen.findByRole('table', { name: 'Active service tokens' })).toBeVisible()
    fireEvent.click(await screen.findByLabelText('Select alpha'))
    fireEvent.click(screen.getByLabelText('Select gamma'))
    expect(screen.getByText('2 selected')).toBeVisible()
    fireEvent.click(screen.getByRole('button', { name: 'Revoke selected' }))

    const dialog = await screen.findByRole('dialog', { name: 'Revoke 2 service tokens' })
    expect(dialog).toHaveTextContent('These 2 tokens will be revoked: alpha, gamma.')
    expect(await within(dialog).findByText('Checked just now: 1 to revoke, 1 already ended.')).toBeVisible()
    expect(bodies).toEqual([{ ids: ['a', 'c'], dryRun: true }])

    fireEvent.change(within(dialog).getByLabelText(/Reason/), { target: { value: 'pipelines retired' } })
    fireEvent.click(within(dialog).getByRole('button', { name: 'Revoke tokens' }))
    expect(await screen.findByText('Bulk revocation: 1 revoked, 1 already ended.')).toBeVisible()
    expect(bodies[1]).toEqual({ ids: ['a', 'c'], dryRun: false, reason: 'pipelines retired' })
    expect(screen.queryByRole('dialog')).toBeNull()
    expect(screen.getByText('Select tokens to revoke several at once.')).toBeVisible()
    // The list is read again, so the revoked rows go.
    await waitFor(() => expect(requests.filter((r) => r.key === ACTIVE).length).toBeGreaterThan(1))
  })

  it('selects every token the filters select, at most a thousand', async () => {
    mockFetch({
      [ACTIVE]: list([serviceToken({ tokenId: 'a', sub: 'alpha' })], 1200),
      [REPLACED]: list([]),
      'GET /api/tokens?limit=1000&sort=created': list(
        Array.from({ length: 1000 }, (_, i) => serviceToken({ tokenId: `t${i}`, sub: `bot-${i}` })),
        1200,
      ),
    })
    renderPage()
    expect(await screen.findByRole('table', { name: 'Active service tokens' })).toBeVisible()
    fireEvent.click(screen.getByRole('button', { name: 'Select all matching' }))
    expect(await screen.findByText('1000 selected')).toBeVisible()
    expect(screen.getByText(/Selected the first 1000 of 1200 matching tokens/)).toBeVisible()
  })

  it('clears the selection when the filters change, and drops a "Select all matching" answer for filters left', async () => {
    let answer: (r: Response) => void = () => {}
    mockFetch({
      [ACTIVE]: list([serviceToken({ tokenId: 'a', sub: 'alpha' }), serviceToken({ tokenId: 'b', sub: 'beta', stale: true })]),
      [REPLACED]: list([]),
      'GET /api/tokens?limit=50&sort=created&stale=true': list([serviceToken({ tokenId: 'b', sub: 'beta', stale: true })]),
      'GET /api/tokens?limit=50&sort=expires': list([serviceToken({ tokenId: 'b', sub: 'beta', stale: true }), serviceToken({ tokenId: 'a', sub: 'alpha' })]),
      'GET /api/tokens?limit=1000&sort=created': () => new Promise<Response>((resolve) => (answer = resolve)),
    })
    renderPage()
    expect(await screen.findByRole('table', { name: 'Active service tokens' })).toBeVisible()
    fireEvent.click(await screen.findByLabelText('Select alpha'))
    expect(screen.getByText('1 selected')).toBeVisible()
    // Another sort lists the same tokens: the selection stays.
    fireEvent.change(screen.getByLabelText('Sort by'), { target: { value: 'expires' } })
    await waitFor(() => expect(screen.getByLabelText('search')).toHaveTextContent('?sort=expires'))
    expect(screen.getByText('1 selected')).toBeVisible()
    fireEvent.change(screen.getByLabelText('Sort by'), { target: { value: 'created' } })

    fireEvent.click(screen.getByLabelText('Stale only'))
    expect(await screen.findByRole('table', { name: 'Stale service tokens' })).toBeVisible()
    expect(screen.getByText('Select tokens to revoke several at once.')).toBeVisible()
    // Back to the first filter: what was picked there is gone too.
    fireEvent.click(screen.getByLabelText('Stale only'))
    expect(await screen.findByRole('table', { name: 'Active service tokens' })).toBeVisible()
    expect(screen.getByText('Select tokens to revoke several at once.')).toBeVisible()
    expect(screen.getByLabelText('Select alpha')).not.toBeChecked()

    // "Select all matching" asked under the active list, answered under the stale one.
    fireEvent.click(screen.getByRole('button', { name: 'Select all matching' }))
    expect(await screen.findByRole('button', { name: 'Selecting…' })).toBeDisabled()
    fireEvent.click(screen.getByLabelText('Stale only'))
    expect(await screen.findByRole('table', { name: 'Stale service tokens' })).toBeVisible()
    answer(list([serviceToken({ tokenId: 'a', sub: 'alpha' }), serviceToken({ tokenId: 'b', sub: 'beta' })], 1200)())
    expect(await screen.findByRole('button', { name: 'Select all matching' })).toBeEnabled()
    expect(screen.getByText('Select tokens to revoke several at once.')).toBeVisible()
    expect(screen.queryByText(/Selected the first/)).toBeNull()
  })

  it('says why the matching tokens could not be selected, in the words of the API', async () => {
    mockFetch({
      [ACTIVE]: list([serviceToken({ tokenId: 'a', sub: 'alpha' })]),
      [REPLACED]: list([]),
      'GET /api/tokens?limit=1000&sort=created': () => problem(503, 'Service Unavailable', 'The database is not answering.'),
    })
    renderPage()
    expect(await screen.findByRole('table', { name: 'Active service tokens' })).toBeVisible()
    fireEvent.click(screen.getByRole('button', { name: 'Select all matching' }))
    expect(await screen.findByText('Could not select the matching tokens: The database is not answering.')).toBeVisible()
  })
})
