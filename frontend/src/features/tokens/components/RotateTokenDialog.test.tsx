import { useState } from 'react'
import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { jsonResponse, mockFetch, problem } from '../../../test/http'
import { renderWithQuery, stubClipboard } from '../../../test/render'
import { serviceToken } from '../testing/fixtures'
import { RotateTokenDialog } from './RotateTokenDialog'

const SECRET = 'eyJhbGciOiJIUzI1NiJ9.successor-value.sig'
const ROTATE = 'POST /api/tokens/tok-1/rotate'

function Harness({ onRotated }: { onRotated: () => void }) {
  const [open, setOpen] = useState(true)
  return open ? <RotateTokenDialog token={serviceToken()} onClose={() => setOpen(false)} onRotated={onRotated} /> : <p>closed</p>
}

describe('RotateTokenDialog', () => {
  it('rotates with the grace period chosen and shows the new value once, as creation does', async () => {
    const writeText = stubClipboard()
    const onRotated = vi.fn()
    const ends = new Date(Date.now() + 3_600_000).toISOString()
    const requests = mockFetch({
      [ROTATE]: () =>
        jsonResponse(201, { accessToken: SECRET, tokenId: 'tok-2', expires: '2099-06-01T00:00:00Z', replaces: 'tok-1', replacedTokenEnds: ends }),
    })
    renderWithQuery(<Harness onRotated={onRotated} />)
    const dialog = within(screen.getByRole('dialog', { name: 'Rotate service token' }))
    expect(dialog.getByText('team-a-ci')).toBeVisible()
    expect(dialog.getByLabelText('Grace period')).toHaveValue('24h')
    fireEvent.change(dialog.getByLabelText('Grace period'), { target: { value: '1h' } })
    fireEvent.click(dialog.getByRole('button', { name: 'Rotate token' }))

    const done = within(await screen.findByRole('dialog', { name: 'Service token rotated' }))
    expect(done.getByLabelText('Service token')).toHaveValue(SECRET)
    expect(await requests.find((r) => r.key === ROTATE)!.request.json()).toEqual({ gracePeriod: '1h' })
    expect(done.getByText('This token is shown only once')).toBeVisible()
    expect(done.getByText(/Never commit it/)).toBeVisible()
    expect(done.getByText(/The old token keeps working until/)).toHaveTextContent('in 1 hour')
    expect(onRotated).toHaveBeenCalledWith({ tokenId: 'tok-2', replaces: 'tok-1', subject: 'team-a-ci' })
    expect(JSON.stringify(onRotated.mock.calls)).not.toContain(SECRET)

    fireEvent.click(done.getByRole('button', { name: 'Copy token' }))
    expect(await screen.findByText('Copied')).toBeVisible()
    expect(writeText).toHaveBeenCalledWith(SECRET)
    fireEvent.click(done.getByRole('button', { name: 'Done' }))
    expect(screen.getByText('closed')).toBeVisible()
    expect(document.body).not.toHaveTextContent(SECRET)
  })

  it('says why when the token was rotated already, and shows no value', async () => {
    const onRotated = vi.fn()
    mockFetch({
      [ROTATE]: () => problem(409, 'Conflict', 'token tok-1 was rotated already: its successor is tok-9', 'token_already_rotated'),
    })
    renderWithQuery(<Harness onRotated={onRotated} />)
    fireEvent.click(screen.getByRole('button', { name: 'Rotate token' }))
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('The token was not rotated')
    expect(alert).toHaveTextContent('its successor is tok-9')
    expect(screen.queryByLabelText('Service token')).not.toBeInTheDocument()
    await waitFor(() => expect(screen.getByRole('button', { name: 'Rotate token' })).toBeEnabled())
    expect(onRotated).not.toHaveBeenCalled()
  })
})
