import { fireEvent, render, screen } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { jsonResponse, mockFetch, problem } from '../test/http'
import { App } from './App'

const admin = { email: 'ada@example.com', name: 'Ada Lovelace', isAdmin: true, expires: '2030-01-01T00:00:00Z' }

function stubClipboard() {
  const writeText = vi.fn<(text: string) => Promise<void>>().mockResolvedValue(undefined)
  Object.defineProperty(window.navigator, 'clipboard', { value: { writeText }, configurable: true })
  return writeText
}

describe('App', () => {
  it('shows the product name and a loading state', () => {
    mockFetch({ 'GET /api/auth/me': () => new Promise<Response>(() => {}) })
    render(<App />)
    expect(screen.getByRole('heading', { level: 1, name: 'CodeMetrics' })).toBeInTheDocument()
    expect(screen.getByText('Loading…')).toBeInTheDocument()
  })

  it('offers a sign-in link that returns to the current page when signed out', async () => {
    window.history.replaceState(null, '', '/admin/service-tokens?page=2')
    mockFetch({ 'GET /api/auth/me': () => problem(401, 'Unauthorized') })
    render(<App />)
    const link = await screen.findByRole('link', { name: 'Sign in' })
    expect(link).toHaveAttribute('href', '/auth/login?redirect=%2Fadmin%2Fservice-tokens%3Fpage%3D2')
  })

  it('lets an administrator copy a session token to the clipboard', async () => {
    const writeText = stubClipboard()
    const fetchMock = mockFetch({
      'GET /api/auth/me': () => jsonResponse(200, admin),
      'POST /api/auth/session-token': () =>
        jsonResponse(200, { sessionToken: 'cm_session_secret', expires: '2030-01-01T00:00:00Z' }),
    })
    render(<App />)
    expect(await screen.findByText(/Signed in as/)).toHaveTextContent('Signed in as Ada Lovelace (ada@example.com)')
    expect(screen.queryByText(/Access denied/)).not.toBeInTheDocument()

    fireEvent.click(screen.getByRole('button', { name: 'Copy session token' }))

    expect(await screen.findByText('Copied')).toBeVisible()
    expect(writeText).toHaveBeenCalledWith('cm_session_secret')
    expect(fetchMock).toHaveBeenCalledWith('/api/auth/session-token', expect.objectContaining({ method: 'POST' }))
    expect(document.body).not.toHaveTextContent('cm_session_secret')
    expect(window.location.href).not.toContain('cm_session_secret')
  })

  it('denies access to a signed-in user who is not an administrator', async () => {
    mockFetch({ 'GET /api/auth/me': () => jsonResponse(200, { ...admin, isAdmin: false }) })
    render(<App />)
    expect(await screen.findByText(/Access denied/)).toHaveTextContent(/granted through your identity provider/)
    expect(screen.queryByRole('button', { name: 'Copy session token' })).not.toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Sign out' })).toBeInTheDocument()
  })

  it('explains on /access-denied that the account is not an administrator', () => {
    window.history.replaceState(null, '', '/access-denied')
    const fetchMock = mockFetch({})
    render(<App />)
    expect(screen.getByRole('heading', { level: 2, name: 'Access denied' })).toBeInTheDocument()
    expect(
      screen.getByText(
        'Your account signed in successfully, but it is not a CodeMetrics administrator. Administrator access is granted in your identity provider (the ADMIN_GROUPS or ADMIN_EMAILS settings).',
      ),
    ).toBeInTheDocument()
    expect(screen.getByRole('link', { name: 'Sign in with a different account' })).toHaveAttribute(
      'href',
      '/auth/login?redirect=%2F',
    )
    expect(screen.queryByRole('button', { name: 'Copy session token' })).not.toBeInTheDocument()
    expect(fetchMock).not.toHaveBeenCalled()
  })

  it('shows the problem detail for other errors', async () => {
    mockFetch({ 'GET /api/auth/me': () => problem(503, 'Service Unavailable', 'The database is not reachable.') })
    render(<App />)
    expect(await screen.findByRole('alert')).toHaveTextContent('The database is not reachable.')
  })

  it('signs out with the CSRF token and reloads to /', async () => {
    document.cookie = 'codemetrics_csrf=csrf-123; path=/'
    const assign = vi.fn()
    vi.spyOn(window, 'location', 'get').mockReturnValue({ ...window.location, pathname: '/', search: '', assign })
    const fetchMock = mockFetch({
      'GET /api/auth/me': () => jsonResponse(200, admin),
      'POST /auth/logout': () => new Response(null, { status: 204 }),
    })
    render(<App />)
    fireEvent.click(await screen.findByRole('button', { name: 'Sign out' }))
    await vi.waitFor(() => expect(assign).toHaveBeenCalledWith('/'))
    const init = fetchMock.mock.calls.find(([url]) => url === '/auth/logout')?.[1]
    expect(new Headers(init?.headers).get('X-CSRF-Token')).toBe('csrf-123')
  })
})
