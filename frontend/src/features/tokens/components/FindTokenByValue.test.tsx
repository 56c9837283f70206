import { fireEvent, screen, waitFor } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { describe, expect, it } from 'vitest'
import { jsonResponse, mockFetch, problem } from '../../../test/http'
import { renderWithQuery } from '../../../test/render'
import { serviceToken } from '../testing/fixtures'
import { FindTokenByValue } from './FindTokenByValue'

const VALUE = 'eyJhbGciOiJIUzI1NiJ9.found-in-a-log.sig'

const revoked = serviceToken({
  tokenId: 'tok-7',
  expires: '2027-01-01T00:00:00.000Z',
  sub: 'nightly-export',
  scopes: ['metrics:read'],
  serviceUserId: 3,
  revokedBy: 'leak-report',
  revocationReason: 'leaked',
  status: 'revoked',
  revoked: '2026-06-01T00:00:00.000Z',
  ends: '2026-06-01T00:00:00.000Z',
})

function render() {
  return renderWithQuery(
    <MemoryRouter>
      <FindTokenByValue />
    </MemoryRouter>,
  )
}

function find(value: string) {
  fireEvent.change(screen.getByLabelText('Token value'), { target: { value } })
  fireEvent.click(screen.getByRole('button', { name: 'Find token' }))
}

describe('FindTokenByValue', () => {
  it('sends the value in the body only, shows the token with its status, and forgets the value', async () => {
    const requests = mockFetch({ 'POST /api/tokens/identify': () => jsonResponse(200, revoked) })
    render()
    find(`  ${VALUE} `)
    expect(await screen.findByText('revoked')).toBeVisible()
    expect(screen.getByText('tok-7')).toBeVisible()
    expect(screen.getByRole('link', { name: 'nightly-export' })).toHaveAttribute('href', '/admin/service-users/3')
    expect(screen.getByText('Reason: leaked')).toBeVisible()
    expect(screen.getByRole('link', { name: 'Open token page' })).toHaveAttribute('href', '/admin/service-tokens/tok-7')
    const sent = requests.filter((r) => r.request.method === 'POST')
    expect(sent.map((r) => r.key)).toEqual(['POST /api/tokens/identify']) // no value in the URL
    expect(requests.every((r) => !r.key.includes('found-in-a-log'))).toBe(true)
    expect(await sent[0]!.request.json()).toEqual({ token: VALUE })
    expect(screen.getByLabelText('Token value')).toHaveValue('')
    expect(document.body.innerHTML).not.toContain('found-in-a-log')
  })

  it('says when the value is not a token of this server', async () => {
    mockFetch({ 'POST /api/tokens/identify': () => problem(404, 'Not Found', 'not ours', 'not_found') })
    render()
    find(VALUE)
    expect(await screen.findByText('Not a token of this CodeMetrics')).toBeVisible()
  })

  it('shows other errors', async () => {
    mockFetch({ 'POST /api/tokens/identify': () => problem(403, 'Forbidden', 'your account is not an administrator', 'not_admin') })
    render()
    find(VALUE)
    await waitFor(() => expect(screen.getByText('Could not look the token up')).toBeVisible())
    expect(screen.getByText(/not an administrator/)).toBeVisible()
  })

  it('sends nothing for an empty value', () => {
    const requests = mockFetch({})
    render()
    expect(screen.getByRole('button', { name: 'Find token' })).toBeDisabled()
    expect(requests.filter((r) => r.request.method === 'POST')).toEqual([])
  })
})
