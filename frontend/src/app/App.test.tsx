import { fireEvent, render, screen, within } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { jsonResponse, mockFetch, problem } from '../test/http'
import { stubClipboard } from '../test/render'
import { App } from './App'
import { serviceToken } from '../features/tokens/testing/fixtures'

const admin = { email: 'ada@example.com', name: 'Ada Lovelace', isAdmin: true, expires: '2030-01-01T00:00:00Z' }
const DAY = 86_400_000

function token(sub: string, expiresInDays: number, lastUsed: string | null = null) {
  const expires = new Date(Date.now() + expiresInDays * DAY).toISOString()
  return serviceToken({
    tokenId: `id-${sub}`,
    created: new Date(Date.now() - DAY).toISOString(),
    expires,
    ends: expires,
    sub,
    createdBy: 'admin@example.com',
    lastUsed,
    scopes: ['metrics:read'],
    serviceUserId: sub.length,
  })
}

describe('App', () => {
  it('shows the product name and a loading state', () => {
    mockFetch({ 'GET /api/auth/me': () => new Promise<Response>(() => {}) })
    render(<App />)
    expect(screen.getByRole('heading', { level: 1, name: 'CodeMetrics' })).toBeInTheDocument()
    expect(screen.getByText('Loading…')).toBeInTheDocument()
  })

  it('offers a sign-in link that returns to the current page when signed out', async () => {
    window.history.replaceState(null, '', '/admin/service-tokens?subject=ci')
    mockFetch({ 'GET /api/auth/me': () => problem(401, 'Unauthorized') })
    render(<App />)
    const link = await screen.findByRole('link', { name: 'Sign in' })
    expect(link).toHaveAttribute('href', '/auth/login?redirect=%2Fadmin%2Fservice-tokens%3Fsubject%3Dci')
  })

  it('lets an administrator copy a session token from the user menu', async () => {
    const writeText = stubClipboard()
    const requests = mockFetch({
      'GET /api/auth/me': () => jsonResponse(200, admin),
      'POST /api/auth/session-token': () =>
        jsonResponse(200, { sessionToken: 'cm_session_secret', expires: '2030-01-01T00:00:00Z' }),
    })
    render(<App />)
    fireEvent.click(await screen.findByRole('button', { name: /Ada Lovelace/ }))
    expect(screen.getByText(/Signed in as/)).toHaveTextContent('Signed in as Ada Lovelace (ada@example.com)')

    fireEvent.click(screen.getByRole('button', { name: 'Copy session token' }))

    expect(await screen.findByText('Copied')).toBeVisible()
    expect(writeText).toHaveBeenCalledWith('cm_session_secret')
    expect(requests.map((r) => r.key)).toContain('POST /api/auth/session-token')
    expect(document.body).not.toHaveTextContent('cm_session_secret')
  })

  it('denies access to a signed-in user who is not an administrator', async () => {
    mockFetch({ 'GET /api/auth/me': () => jsonResponse(200, { ...admin, isAdmin: false }) })
    render(<App />)
    expect(await screen.findByRole('heading', { name: 'Access denied' })).toBeVisible()
    expect(screen.queryByRole('button', { name: 'Copy session token' })).not.toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Sign out' })).toBeInTheDocument()
  })

  it('explains on /access-denied that the account is not an administrator, without asking the server', () => {
    window.history.replaceState(null, '', '/access-denied')
    const requests = mockFetch({})
    render(<App />)
    expect(screen.getByRole('heading', { level: 2, name: 'Access denied' })).toBeInTheDocument()
    expect(screen.getByText(/not a CodeMetrics administrator/)).toHaveTextContent(/ADMIN_GROUPS or ADMIN_EMAILS/)
    expect(screen.getByRole('link', { name: 'Sign in with a different account' })).toHaveAttribute(
      'href',
      '/auth/login?redirect=%2F',
    )
    expect(requests).toEqual([])
  })

  it('shows the problem detail for other errors', async () => {
    mockFetch({ 'GET /api/auth/me': () => problem(503, 'Service Unavailable', 'The database is not reachable.') })
    render(<App />)
    expect(await screen.findByRole('alert', {}, { timeout: 5000 })).toHaveTextContent('The database is not reachable.')
  })

  it('signs out with the CSRF token of /api/auth/me, whatever cookie was planted, and reloads to /', async () => {
    document.cookie = 'codemetrics_csrf=planted; path=/'
    const assign = vi.fn()
    const real = window.location
    vi.spyOn(window, 'location', 'get').mockReturnValue({ ...real, href: real.href, pathname: '/', search: '', hash: '', assign })
    const requests = mockFetch({
      'GET /api/auth/me': () => jsonResponse(200, { ...admin, csrfToken: 'csrf-123' }),
      'POST /auth/logout': () => new Response(null, { status: 204 }),
    })
    render(<App />)
    fireEvent.click(await screen.findByRole('button', { name: /Ada Lovelace/ }))
    fireEvent.click(screen.getByRole('button', { name: 'Sign out' }))
    await vi.waitFor(() => expect(assign).toHaveBeenCalledWith('/'))
    const logout = requests.find((r) => r.key === 'POST /auth/logout')?.request
    expect(logout?.headers.get('X-CSRF-Token')).toBe('csrf-123')
  })

  it('lists tokens with breadcrumbs, "Never", the expiring-soon badge, and subjects as text', async () => {
    window.history.replaceState(null, '', '/admin/service-tokens')
    const markup = '<img src=x onerror=alert(1)>'
    mockFetch({
      'GET /api/auth/me': () => jsonResponse(200, admin),
      'GET /api/tokens?limit=50&sort=created': () =>
        new Response(JSON.stringify([token('ci-pipeline', 200, new Date().toISOString()), token(markup, 10)]), {
          status: 200,
          headers: { 'Content-Type': 'application/json', 'X-Total-Count': '2' },
        }),
    })
    render(<App />)
    expect(await screen.findByRole('heading', { level: 1, name: 'Service Tokens' })).toBeVisible()
    const crumbs = screen.getByRole('navigation', { name: 'Breadcrumb' })
    expect(within(crumbs).getByRole('link', { name: 'Admin' })).toHaveAttribute('href', '/admin')
    const soon = (await screen.findByRole('rowheader', { name: new RegExp('onerror') })).closest('tr')!
    expect(within(soon).getByText(markup)).toBeVisible()
    expect(document.querySelector('img')).toBeNull()
    expect(within(soon).getByText('Expiring soon')).toBeVisible()
    expect(within(soon).getByText('Never')).toBeVisible()
    const ok = screen.getByRole('rowheader', { name: /ci-pipeline/ }).closest('tr')!
    expect(within(ok).queryByText('Expiring soon')).not.toBeInTheDocument()
    expect(screen.getByRole('button', { name: `Revoke ${markup}` })).toBeVisible()
    expect(screen.getByText('Showing 2 of 2 tokens')).toBeVisible()
    // Each subject leads to its service user.
    expect(within(ok).getByRole('link', { name: 'ci-pipeline' })).toHaveAttribute('href', `/admin/service-users/${'ci-pipeline'.length}`)
  })

  it('the Administration page has a Service Users card that leads to the service users', async () => {
    window.history.replaceState(null, '', '/admin')
    mockFetch({
      'GET /api/auth/me': () => jsonResponse(200, admin),
      'GET /api/service-users?limit=1': () =>
        new Response('[]', { status: 200, headers: { 'Content-Type': 'application/json', 'X-Total-Count': '3' } }),
      'GET /api/service-users?limit=50': () =>
        new Response('[]', { status: 200, headers: { 'Content-Type': 'application/json', 'X-Total-Count': '0' } }),
    })
    render(<App />)
    const card = await screen.findByRole('region', { name: 'Service Users' })
    expect(await within(card).findByText('3 service users')).toBeVisible()
    fireEvent.click(within(card).getByRole('link', { name: 'Manage Service Users' }))
    expect(await screen.findByRole('heading', { level: 1, name: 'Service Users' })).toBeVisible()
    expect(screen.getByRole('navigation', { name: 'Main' })).toContainElement(screen.getByRole('link', { name: 'Service Users' }))
    expect(await screen.findByText('No service users')).toBeVisible()
  })

  it('pages through the tokens with "Load more", following the Link header\'s cursor', async () => {
    window.history.replaceState(null, '', '/admin/service-tokens')
    const page = (subjects: string[], next?: string) =>
      new Response(JSON.stringify(subjects.map((sub) => token(sub, 200))), {
        status: 200,
        headers: {
          'Content-Type': 'application/json',
          'X-Total-Count': '3',
          ...(next ? { Link: `<${next}>; rel="next"` } : {}),
        },
      })
    mockFetch({
      'GET /api/auth/me': () => jsonResponse(200, admin),
      'GET /api/tokens?limit=50&sort=created': () => page(['first', 'second'], '/api/tokens?limit=50&sort=created&cursor=c2'),
      'GET /api/tokens?limit=50&sort=created&cursor=c2': () => page(['third']),
    })
    render(<App />)
    expect(await screen.findByText('Showing 2 of 3 tokens')).toBeVisible()
    fireEvent.click(screen.getByRole('button', { name: 'Load more' }))
    expect(await screen.findByRole('rowheader', { name: /third/ })).toBeVisible()
    expect(screen.getByText('Showing 3 of 3 tokens')).toBeVisible()
    expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument()
  })

  it('shows an empty state and an error state', async () => {
    window.history.replaceState(null, '', '/admin/service-tokens')
    mockFetch({
      'GET /api/auth/me': () => jsonResponse(200, admin),
      'GET /api/tokens?limit=50&sort=created': () => jsonResponse(200, []),
    })
    const { unmount } = render(<App />)
    expect(await screen.findByText('No active service tokens')).toBeVisible()
    unmount()

    mockFetch({
      'GET /api/auth/me': () => jsonResponse(200, admin),
      'GET /api/tokens?limit=50&sort=created': () => problem(403, 'Forbidden', 'Administrator access required.'),
    })
    render(<App />)
    expect(await screen.findByRole('alert')).toHaveTextContent('Administrator access required.')
  })

  it('opens a token’s page from its usage sparkline in the tokens table', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2026-11-30T12:00:00.000Z'))
    try {
      window.history.replaceState(null, '', '/admin/service-tokens')
      const used = { ...token('ci-pipeline', 200), requests30d: 5, dailyRequests30d: [...Array<number>(29).fill(0), 5] }
      mockFetch({
        'GET /api/auth/me': () => jsonResponse(200, admin),
        'GET /api/tokens?limit=50&sort=created': () => jsonResponse(200, [used]),
        'GET /api/tokens/id-ci-pipeline': () => jsonResponse(200, used),
        'GET /api/tokens/id-ci-pipeline/usage?from=2026-11-01&to=2026-11-30': () =>
          jsonResponse(200, { from: '2026-11-01', to: '2026-11-30', days: [{ date: '2026-11-30', requests: 5, refused: 0 }], clients: [] }),
      })
      render(<App />)
      fireEvent.click(await screen.findByRole('link', { name: '5 requests in the last 30 days' }))
      expect(await screen.findByRole('heading', { level: 1, name: 'ci-pipeline' })).toBeVisible()
      expect(await screen.findByRole('figure', { name: 'Requests per day' })).toHaveTextContent('5 requests, 0 refused, on 1 day of 1.')
      const crumbs = screen.getByRole('navigation', { name: 'Breadcrumb' })
      expect(within(crumbs).getByRole('link', { name: 'Service Tokens' })).toHaveAttribute('href', '/admin/service-tokens')
    } finally {
      vi.useRealTimers()
    }
  })
})
