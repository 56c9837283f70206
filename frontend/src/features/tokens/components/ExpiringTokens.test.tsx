import { screen, within } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { describe, expect, it } from 'vitest'
import { jsonResponse, mockFetch } from '../../../test/http'
import { renderWithQuery } from '../../../test/render'
import { serviceToken } from '../testing/fixtures'
import { ExpiringTokens } from './ExpiringTokens'

const DAY = 86_400_000
const SOONEST = 'GET /api/tokens?limit=10&sort=expires'
const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString()

describe('ExpiringTokens', () => {
  it('lists the active tokens expiring within 30 days, soonest first, and no later one', async () => {
    mockFetch({
      [SOONEST]: () =>
        jsonResponse(200, [
          serviceToken({ tokenId: 'a', sub: 'nightly-export', expires: inDays(3), description: 'Exports' }),
          serviceToken({ tokenId: 'b', sub: 'grafana', expires: inDays(20) }),
          serviceToken({ tokenId: 'c', sub: 'monitoring', expires: inDays(200) }),
        ]),
    })
    renderWithQuery(
      <MemoryRouter>
        <ExpiringTokens />
      </MemoryRouter>,
    )
    const list = await screen.findByRole('list', { name: 'Tokens expiring soon' })
    const items = within(list).getAllByRole('listitem')
    expect(items.map((li) => li.textContent)).toEqual(['nightly-exportExportsexpires in 3 days', 'grafanaexpires in 20 days'])
    expect(within(list).getByRole('link', { name: 'nightly-export' })).toHaveAttribute('href', '/admin/service-users/7')
  })

  it('says so when none expires within 30 days', async () => {
    mockFetch({ [SOONEST]: () => jsonResponse(200, [serviceToken({ expires: inDays(90) })]) })
    renderWithQuery(
      <MemoryRouter>
        <ExpiringTokens />
      </MemoryRouter>,
    )
    expect(await screen.findByText('No active token expires within 30 days.')).toBeVisible()
  })
})
