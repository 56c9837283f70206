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
})
