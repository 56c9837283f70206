import { fireEvent, screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { jsonResponse, mockFetch, problem } from '../../../test/http'
import { renderWithQuery } from '../../../test/render'
import type { AdminSession } from '../api/admin'
import { LiveSessions } from './LiveSessions'

const issuer = 'https://idp.example.com'

function session(id: string, email: string, over: Partial<AdminSession> = {}): AdminSession {
  return {
    id,
    identity: `${issuer} sub-${email}`,
    issuer,
    subject: `sub-${email}`,
    name: email.split('@')[0]!,
    email,
    emailVerified: true,
    actor: email,
    isAdmin: true,
    adminReason: 'member of group codemetrics-admins (ADMIN_GROUPS)',
    signedIn: '2026-03-01T09:00:00.000Z',
    expires: '2026-03-01T17:00:00.000Z',
    idleExpires: '2026-03-01T10:00:00.000Z',
    lastSeen: '2026-03-01T09:05:00.000Z',
    signInAddress: '192.0.2.10',
    lastAddress: '192.0.2.10',
    lastCookieUse: '2026-03-01T09:05:00.000Z',
    lastTokenUse: null,
    sessionTokensIssued: 0,
    current: false,
    ...over,
  }
}

const ada = session('AdaSess1xxxxxxxxxxxxxx', 'ada@example.com', { current: true })
const bob1 = session('BobSess1xxxxxxxxxxxxxx', 'bob@example.com', {
  sessionTokensIssued: 2,
  lastTokenUse: '2026-03-01T09:04:00.000Z',
  lastAddress: '198.51.100.7',
})
const bob2 = session('BobSess2xxxxxxxxxxxxxx', 'bob@example.com')
const eve = session('EveSess1xxxxxxxxxxxxxx', 'boss@example.com', {
  emailVerified: false,
  actor: 'boss@example.com (unverified)',
  name: 'Eve',
})

describe('LiveSessions', () => {
  it('lists the live sessions by person: who, verified or not, since when, from where, how', async () => {
    mockFetch({ 'GET /api/admin/sessions': () => jsonResponse(200, [ada, bob1, bob2, eve]) })
    renderWithQuery(<LiveSessions />)
    const bob = await screen.findByRole('listitem', { name: 'bob@example.com' })
    expect(within(bob).getAllByRole('button', { name: /^End session/ })).toHaveLength(2)
    expect(within(bob).getByText('BobSess1')).toBeVisible()
    expect(within(bob).getByText(/now 198\.51\.100\.7/)).toBeVisible()
    expect(within(bob).getByText(/2 session tokens taken/)).toBeVisible()
    expect(within(bob).getByText(`${issuer} sub-bob@example.com`)).toBeVisible()
    const impostor = screen.getByRole('listitem', { name: 'boss@example.com (unverified)' })
    expect(within(impostor).getByText('unverified')).toBeVisible()
    const mine = screen.getByRole('listitem', { name: 'ada@example.com' })
    expect(within(mine).getByText('this session')).toBeVisible()
    expect(within(mine).queryByText('unverified')).not.toBeInTheDocument()
  })

  it('ends one session and reloads the list', async () => {
    let ended = false
    const requests = mockFetch({
      'GET /api/auth/me': () => jsonResponse(200, { email: 'ada@example.com', csrfToken: 'csrf-1' }),
      'GET /api/admin/sessions': () => jsonResponse(200, ended ? [ada, bob2] : [ada, bob1, bob2]),
      'DELETE /api/admin/sessions/BobSess1xxxxxxxxxxxxxx': () => {
        ended = true
        return new Response(null, { status: 204 })
      },
    })
    renderWithQuery(<LiveSessions />)
    fireEvent.click(await screen.findByRole('button', { name: 'End session BobSess1 of bob@example.com' }))
    expect(await screen.findByRole('status')).toHaveTextContent('Ended session BobSess1 of bob@example.com.')
    const del = requests.find((r) => r.key.startsWith('DELETE'))!.request
    expect(del.headers.get('X-CSRF-Token')).toBe('csrf-1')
    await screen.findByText('BobSess2')
    expect(screen.queryByText('BobSess1')).not.toBeInTheDocument()
    expect(requests.filter((r) => r.key === 'GET /api/admin/sessions')).toHaveLength(2)
  })

  it('ends every session of one person by their identity', async () => {
    let ended = false
    const key = `DELETE /api/admin/sessions?identity=${encodeURIComponent(bob1.identity)}`
    const requests = mockFetch({
      'GET /api/admin/sessions': () => jsonResponse(200, ended ? [ada] : [ada, bob1, bob2]),
      [key]: () => {
        ended = true
        return jsonResponse(200, { ended: 2 })
      },
    })
    renderWithQuery(<LiveSessions />)
    const bob = await screen.findByRole('listitem', { name: 'bob@example.com' })
    fireEvent.click(within(bob).getByRole('button', { name: 'End all sessions of this person' }))
    expect(await screen.findByRole('status')).toHaveTextContent('Ended 2 sessions of bob@example.com.')
    expect(requests.map((r) => r.key)).toContain(key)
    await screen.findByText('AdaSess1')
    expect(screen.queryByRole('listitem', { name: 'bob@example.com' })).not.toBeInTheDocument()
  })

  it('shows the server’s words when ending fails', async () => {
    mockFetch({
      'GET /api/admin/sessions': () => jsonResponse(200, [bob1]),
      'DELETE /api/admin/sessions/BobSess1xxxxxxxxxxxxxx': () => problem(403, 'Forbidden', 'missing or wrong CSRF token'),
    })
    renderWithQuery(<LiveSessions />)
    fireEvent.click(await screen.findByRole('button', { name: 'End session BobSess1 of bob@example.com' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('missing or wrong CSRF token')
  })
})
