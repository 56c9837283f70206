import { describe, expect, it } from 'vitest'
import { jsonResponse, mockFetch, problem } from '../test/http'
import { ApiError, client, nextLink, ok } from './api'

describe('api client', () => {
  it('returns parsed JSON and sends same-origin credentials', async () => {
    const requests = mockFetch({ 'GET /api/workloads': () => jsonResponse(200, { workloads: ['web'] }) })
    await expect(ok(client.GET('/api/workloads'))).resolves.toEqual({ workloads: ['web'] })
    expect(requests[0]?.request.credentials).toBe('same-origin')
    expect(requests[0]?.request.headers.get('Accept')).toBe('application/json')
  })

  it('serializes query parameters and leaves out the unset ones', async () => {
    const requests = mockFetch({ 'GET /api/pipeline/runs?workload=a%20b&limit=5': () => jsonResponse(200, []) })
    await ok(client.GET('/api/pipeline/runs', { params: { query: { workload: 'a b', limit: 5, cursor: undefined } } }))
    expect(requests.map((r) => r.key)).toEqual(['GET /api/pipeline/runs?workload=a%20b&limit=5'])
  })

  it('throws ApiError with status, title, code and detail from a problem+json body', async () => {
    mockFetch({ 'GET /api/admin/access': () => problem(403, 'Forbidden', 'Administrator access required.', 'not_admin') })
    const error = await ok(client.GET('/api/admin/access')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 403, title: 'Forbidden', code: 'not_admin', detail: 'Administrator access required.' })
    expect((error as ApiError).problem).toMatchObject({ type: 'about:blank', status: 403 })
  })

  it('falls back to the status text when the error body is not JSON', async () => {
    mockFetch({
      'GET /api/workloads': () => new Response('<html>oops</html>', { status: 502, statusText: 'Bad Gateway', headers: { 'Content-Type': 'text/html' } }),
    })
    await expect(ok(client.GET('/api/workloads'))).rejects.toMatchObject({ status: 502, title: 'Bad Gateway', detail: undefined })
  })

  it('sends the CSRF token from /api/auth/me as X-CSRF-Token on POST with a JSON body', async () => {
    const requests = mockFetch({
      'GET /api/auth/me': () => jsonResponse(200, { email: 'a@example.com', csrfToken: 'tok+en' }),
      'POST /api/tokens': () => jsonResponse(201, { accessToken: 'x', tokenId: 'id', expires: '2030-01-01T00:00:00Z' }),
    })
    await ok(client.GET('/api/auth/me'))
    await ok(client.POST('/api/tokens', { body: { subject: 'ci' } }))
    const sent = requests.find((r) => r.key === 'POST /api/tokens')!.request
    expect(sent.headers.get('X-CSRF-Token')).toBe('tok+en')
    expect(sent.headers.get('Content-Type')).toBe('application/json')
    expect(await sent.text()).toBe('{"subject":"ci"}')
  })

  it('ignores a codemetrics_csrf cookie, such as one a sibling subdomain planted', async () => {
    document.cookie = 'codemetrics_csrf=planted-by-a-sibling; path=/'
    const requests = mockFetch({
      'GET /api/auth/me': () => jsonResponse(200, { email: 'a@example.com', csrfToken: 'the-real-one' }),
      'POST /auth/logout': () => new Response(null, { status: 204 }),
    })
    await ok(client.GET('/api/auth/me'))
    await ok(client.POST('/auth/logout'))
    expect(requests.find((r) => r.key === 'POST /auth/logout')?.request.headers.get('X-CSRF-Token')).toBe('the-real-one')
    document.cookie = 'codemetrics_csrf=; path=/; max-age=0'
  })

  it('asks /api/auth/me for the token before a state change when nothing has yet', async () => {
    const requests = mockFetch({
      'GET /api/auth/me': () => problem(401, 'Unauthorized'),
      'POST /auth/logout': () => new Response(null, { status: 204 }),
    })
    await expect(ok(client.GET('/api/auth/me'))).rejects.toMatchObject({ status: 401 })
    await ok(client.POST('/auth/logout'))
    expect(requests.map((r) => r.key)).toEqual(['GET /api/auth/me', 'GET /api/auth/me', 'POST /auth/logout'])
    expect(requests[2]?.request.headers.has('X-CSRF-Token')).toBe(false)
  })

  it('resolves to undefined on 204 No Content', async () => {
    mockFetch({ 'DELETE /api/tokens/abc': () => new Response(null, { status: 204 }) })
    await expect(ok(client.DELETE('/api/tokens/{tokenId}', { params: { path: { tokenId: 'abc' } } }))).resolves.toBeUndefined()
  })

  it('does not send the CSRF header on GET', async () => {
    const requests = mockFetch({ 'GET /api/auth/me': () => jsonResponse(200, { csrfToken: 'abc' }) })
    await ok(client.GET('/api/auth/me'))
    await ok(client.GET('/api/auth/me'))
    expect(requests.map((r) => r.request.headers.has('X-CSRF-Token'))).toEqual([false, false])
  })
})

describe('nextLink', () => {
  it('finds the rel="next" target', () => {
    expect(nextLink('</api/tokens?limit=50&cursor=abc>; rel="next"')).toBe('/api/tokens?limit=50&cursor=abc')
    expect(nextLink('</a>; rel="prev", </b>; rel="next"')).toBe('/b')
    expect(nextLink('</a>; rel="prev"')).toBeUndefined()
    expect(nextLink(null)).toBeUndefined()
  })
})
