import { useState } from 'react'
import { fireEvent, render, screen } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { jsonResponse, mockFetch, problem } from '../../../test/http'
import { stubClipboard } from '../../../test/render'
import { CreateTokenDialog } from './CreateTokenDialog'

const SECRET = 'eyJhbGciOiJIUzI1NiJ9.secret-value.sig'

function Harness({ onCreated = vi.fn() }: { onCreated?: () => void }) {
  const [open, setOpen] = useState(true)
  return (
    <>
      <button type="button" onClick={() => setOpen(true)}>
        Open
      </button>
      {open && <CreateTokenDialog onClose={() => setOpen(false)} onCreated={onCreated} />}
    </>
  )
}

function subjectField() {
  return screen.getByLabelText('Subject')
}

describe('CreateTokenDialog', () => {
  it('explains what is wrong with the subject before sending anything', () => {
    const requests = mockFetch({})
    render(<Harness />)
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))
    expect(screen.getByText(/^Enter a subject/)).toBeVisible()
    expect(subjectField()).toHaveAttribute('aria-invalid', 'true')
    expect(subjectField()).toHaveAccessibleDescription(/Enter a subject/)

    fireEvent.change(subjectField(), { target: { value: 'x'.repeat(101) } })
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))
    expect(screen.getByText(/too long: 101 characters/)).toBeVisible()

    fireEvent.change(subjectField(), { target: { value: 'ok' } })
    expect(screen.queryByText(/too long/)).not.toBeInTheDocument()
    expect(requests).toEqual([])
  })

  it('shows the detail of a 400 from the server', async () => {
    mockFetch({ 'POST /api/tokens': () => problem(400, 'Bad Request', 'subject: must not contain "\\u2028"') })
    render(<Harness />)
    fireEvent.change(subjectField(), { target: { value: 'odd' } })
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('subject: must not contain')
  })

  it('sends the trimmed subject and the default scope, shows the value once, copies it, and forgets it on close', async () => {
    const writeText = stubClipboard()
    const onCreated = vi.fn()
    const requests = mockFetch({
      'POST /api/tokens': () =>
        jsonResponse(201, { accessToken: SECRET, tokenId: 'tok-1', expires: '2099-01-01T00:00:00Z' }),
    })
    render(<Harness onCreated={onCreated} />)
    fireEvent.change(subjectField(), { target: { value: '  ci-pipeline ' } })
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))

    expect(await screen.findByLabelText('Service token')).toHaveValue(SECRET)
    expect(await requests.find((r) => r.key === 'POST /api/tokens')?.request.json()).toEqual({
      subject: 'ci-pipeline',
      scopes: ['metrics:read'],
    })
    expect(onCreated).toHaveBeenCalledWith({ tokenId: 'tok-1', subject: 'ci-pipeline' })
    expect(JSON.stringify(onCreated.mock.calls)).not.toContain(SECRET)
    expect(screen.getByText('This token is shown only once')).toBeVisible()
    expect(screen.getByText(/cannot be retrieved again/)).toBeVisible()
    expect(screen.getByText(/secret manager or an environment variable/)).toBeVisible()
    expect(screen.getByText(/Never commit it/)).toBeVisible()
    expect(screen.getByText(/curl -H "Authorization: Bearer \$CODEMETRICS_TOKEN"/)).toBeVisible()

    fireEvent.click(screen.getByRole('button', { name: 'Copy token' }))
    expect(await screen.findByText('Copied')).toBeVisible()
    expect(writeText).toHaveBeenCalledWith(SECRET)

    fireEvent.click(screen.getByRole('button', { name: 'Done' }))
    expect(document.body).not.toHaveTextContent(SECRET)
    expect(screen.queryByDisplayValue(SECRET)).not.toBeInTheDocument()

    // Opening the dialog again starts from an empty form: the value is gone for good.
    fireEvent.click(screen.getByRole('button', { name: 'Open' }))
    expect(subjectField()).toHaveValue('')
    expect(screen.queryByDisplayValue(SECRET)).not.toBeInTheDocument()
    expect(JSON.stringify({ ...window.localStorage })).not.toContain(SECRET)
    expect(JSON.stringify({ ...window.sessionStorage })).not.toContain(SECRET)
    expect(window.location.href).not.toContain(SECRET)
  })

  it('closes on Escape', () => {
    mockFetch({})
    render(<Harness />)
    const dialog = screen.getByRole('dialog', { hidden: true })
    fireEvent(dialog, new Event('cancel', { cancelable: true }))
    expect(screen.queryByLabelText('Subject')).not.toBeInTheDocument()
  })
})
