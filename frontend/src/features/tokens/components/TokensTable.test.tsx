import { screen, within } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { describe, expect, it, vi } from 'vitest'
import { renderWithQuery } from '../../../test/render'
import type { ServiceToken } from '../api/tokens'
import { serviceToken } from '../testing/fixtures'
import { TokensTable } from './TokensTable'

const HOUR = 3_600_000

function renderTable(tokens: ServiceToken[]) {
  const onAction = vi.fn()
  renderWithQuery(
    <MemoryRouter>
      <TokensTable tokens={tokens} now={new Date()} onAction={onAction} caption="Service tokens" />
    </MemoryRouter>,
  )
  return onAction
}

const row = (id: string) => document.querySelector<HTMLElement>(`tr[data-token-id="${id}"]`)!

describe('TokensTable', () => {
  it('shows the description and status, and offers Rotate and Revoke on an active token', () => {
    const onAction = renderTable([serviceToken({ description: 'Nightly upload' })])
    expect(screen.getAllByRole('columnheader').map((h) => h.textContent)).toEqual([
      'Subject',
      'Description',
      'Status',
      'Created',
      'Expires',
      'Created By',
      'Last Used',
      'Usage (30 days)',
      'Actions',
    ])
    const r = within(row('tok-1'))
    expect(r.getByText('Nightly upload')).toBeVisible()
    expect(r.getByText('Active')).toBeVisible()
    r.getByRole('button', { name: 'Rotate team-a-ci' }).click()
    expect(onAction).toHaveBeenCalledWith(expect.objectContaining({ tokenId: 'tok-1' }), 'rotate')
    r.getByRole('button', { name: 'Revoke team-a-ci' }).click()
    expect(onAction).toHaveBeenLastCalledWith(expect.objectContaining({ tokenId: 'tok-1' }), 'revoke')
  })

  it('counts down a replaced token, which can be revoked but not rotated again', () => {
    renderTable([
      serviceToken({ tokenId: 'old', status: 'rotated', replacedBy: 'new', ends: new Date(Date.now() + 24 * HOUR - 5_000).toISOString() }),
    ])
    const r = within(row('old'))
    expect(r.getByText('Replaced')).toBeVisible()
    expect(r.getByText('replaced — stops working in 23 h')).toBeVisible()
    expect(r.queryByRole('button', { name: /^Rotate/ })).not.toBeInTheDocument()
    expect(r.getByRole('button', { name: 'Revoke team-a-ci' })).toBeVisible()
  })

  it('says who ended a history row, when and why, and offers nothing to do', () => {
    const ago = new Date(Date.now() - 2 * HOUR).toISOString()
    renderTable([
      serviceToken({ tokenId: 'rev', status: 'revoked', revoked: ago, ends: ago, revokedBy: 'ada@example.com', revocationReason: 'leaked in a log' }),
      serviceToken({ tokenId: 'rot', status: 'rotated', replacedBy: 'tok-9', ends: ago }),
      serviceToken({ tokenId: 'exp', status: 'expired', expires: ago, ends: ago }),
    ])
    const revoked = within(row('rev'))
    expect(revoked.getByText('Revoked')).toBeVisible()
    expect(row('rev')).toHaveTextContent(/revoked 2 hours ago by ada@example\.com/)
    expect(revoked.getByText('“leaked in a log”')).toBeVisible()
    const rotated = within(row('rot'))
    expect(rotated.getByText('Rotated')).toBeVisible()
    expect(row('rot')).toHaveTextContent(/replaced, stopped 2 hours ago/)
    expect(rotated.getByText('by tok-9')).toBeVisible()
    expect(row('exp')).toHaveTextContent(/expired 2 hours ago/)
    expect(within(row('exp')).getByText('Expired', { exact: true })).toBeVisible()
    for (const id of ['rev', 'rot', 'exp']) expect(within(row(id)).queryAllByRole('button')).toEqual([])
  })

  it('shows 30 days of use as a sparkline linking to the token page, and where it was last used from', () => {
    const daily = Array.from({ length: 30 }, (_, i) => (i >= 28 ? 617 : 0))
    renderTable([
      serviceToken({
        tokenId: 'tok/1',
        lastUsed: new Date(Date.now() - 2 * HOUR).toISOString(),
        lastUsedAddress: '10.0.4.2',
        requests30d: 1234,
        dailyRequests30d: daily,
      }),
      serviceToken({ tokenId: 'tok-2' }),
    ])
    const r = within(row('tok/1'))
    const spark = r.getByRole('img', { name: '1,234 requests in the last 30 days' })
    expect(spark.querySelector('path')).toHaveAttribute('data-bars', '2')
    expect(r.getByText('1,234')).toBeVisible()
    expect(r.getByRole('link', { name: '1,234 requests in the last 30 days' })).toHaveAttribute('href', '/admin/service-tokens/tok%2F1')
    expect(r.getByRole('link', { name: 'team-a-ci' })).toHaveAttribute('href', '/admin/service-users/7')
    expect(r.getByText('2 hours ago')).toBeVisible()
    expect(r.getByText('10.0.4.2')).toBeVisible()

    const unused = within(row('tok-2'))
    expect(unused.getByRole('img', { name: '0 requests in the last 30 days' })).toBeVisible()
    expect(unused.getByText('Never')).toBeVisible()
    expect(row('tok-2')).not.toHaveTextContent('10.0.4.2')
  })

  it('warns on a history row whose token is still presented', () => {
    const ago = new Date(Date.now() - 2 * HOUR).toISOString()
    const seen = new Date(Date.now() - 2 * 60_000).toISOString()
    renderTable([
      serviceToken({
        tokenId: 'rev',
        status: 'revoked',
        revoked: ago,
        ends: ago,
        stillPresented: { times: 37, lastSeen: seen, lastAddress: '10.0.4.2' },
      }),
      serviceToken({ tokenId: 'exp', status: 'expired', expires: ago, ends: ago, stillPresented: { times: 1, lastSeen: seen, lastAddress: '2001:db8::7' } }),
      serviceToken({ tokenId: 'quiet', status: 'expired', expires: ago, ends: ago }),
    ])
    expect(row('rev')).toHaveTextContent('Still presented 37 times, last from 10.0.4.2, 2 minutes ago')
    expect(row('rev')).toHaveClass('bg-amber-50')
    expect(row('exp')).toHaveTextContent('Still presented 1 time, last from 2001:db8::7, 2 minutes ago')
    expect(row('quiet')).not.toHaveTextContent(/Still presented/)
    expect(row('quiet')).not.toHaveClass('bg-amber-50')
  })
})
