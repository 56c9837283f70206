import { fireEvent, screen, waitFor } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { mockFetch } from '../../../test/http'
import { renderWithQuery } from '../../../test/render'
import { serviceToken } from '../testing/fixtures'
import { RevokeTokenDialog } from './RevokeTokenDialog'

describe('RevokeTokenDialog', () => {
  it('sends the optional reason with the revocation', async () => {
    const onRevoked = vi.fn()
    const requests = mockFetch({ 'DELETE /api/tokens/tok-1?reason=leaked%20in%20a%20build%20log': () => new Response(null, { status: 204 }) })
    renderWithQuery(<RevokeTokenDialog token={serviceToken()} onClose={vi.fn()} onRevoked={onRevoked} />)
    fireEvent.change(screen.getByLabelText(/^Reason/), { target: { value: ' leaked in a build log ' } })
    fireEvent.click(screen.getByRole('button', { name: 'Revoke token' }))
    await waitFor(() => expect(onRevoked).toHaveBeenCalled())
    expect(requests.map((r) => r.key).filter((k) => k.startsWith('DELETE'))).toEqual(['DELETE /api/tokens/tok-1?reason=leaked%20in%20a%20build%20log'])
  })

  it('sends no reason when none is given, and says that a replaced token loses its grace period', async () => {
    const onRevoked = vi.fn()
    const requests = mockFetch({ 'DELETE /api/tokens/tok-1': () => new Response(null, { status: 204 }) })
    const token = serviceToken({ status: 'rotated', replacedBy: 'tok-2', ends: new Date(Date.now() + 3_600_000).toISOString() })
    renderWithQuery(<RevokeTokenDialog token={token} onClose={vi.fn()} onRevoked={onRevoked} />)
    expect(screen.getByText(/revoking it ends that grace period now/)).toBeVisible()
    fireEvent.click(screen.getByRole('button', { name: 'Revoke token' }))
    await waitFor(() => expect(onRevoked).toHaveBeenCalled())
    expect(requests.map((r) => r.key).filter((k) => k.startsWith('DELETE'))).toEqual(['DELETE /api/tokens/tok-1'])
  })
})
