import { describe, expect, it } from 'vitest'
import { jsonResponse, mockFetch, problem } from '../test/http'
import { ApiError, api, nextLink, readCookie } from './api'

function headersOf(fetchMock: ReturnType<typeof mockFetch>, call = 0): Headers {
  return new Headers(fetchMock.mock.calls[call]?.[1]?.headers)
}

describe('api client', () => {
  it('returns parsed JSON and sends same-origin credentials', async () => {
    const fetchMock = mockFetch({ 'GET /api/thing': () => jsonResponse(200, { ok: true }) })
    await expect(api.get('/api/thing')).resolves.toEqual({ ok: true })
    expect(fetchMock.mock.calls[0]?.[1]).toMatchObject({ method: 'GET', credentials: 'same-origin' })
  })

  it('throws ApiError with status, title and detail from a problem+json body', async () => {
    mockFetch({ 'GET /api/thing': () => problem(403, 'Forbidden', 'Administrator access required.') })
    const error = await api.get('/api/thing').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 403, title: 'Forbidden', detail: 'Administrator access required.' })
    expect((error as ApiError).problem).toMatchObject({ type: 'about:blank', status: 403 })
  })

  it('falls back to the status text when the error body is not JSON', async () => {
    mockFetch({
      'GET /api/thing': () => new Response('<html>oops</html>', { status: 502, statusText: 'Bad Gateway', headers: { 'Content-Type': 'text/html' } }),
    })
    await expect(api.get('/api/thing')).rejects.toMatchObject({ status: 502, title: 'Bad Gateway', detail: undefined })
  })

  it('sends the CSRF cookie value as X-CSRF-Token on POST with a JSON body', async () => {
    document.cookie = 'other=1; path=/'
    document.cookie = 'codemetrics_csrf=tok%2Ben; path=/'
    const fetchMock = mockFetch({ 'POST /api/thing': () => new Response(null, { status: 204 }) })
    await expect(api.post('/api/thing', { a: 1 })).resolves.toBeUndefined()
    const headers = headersOf(fetchMock)
    expect(headers.get('X-CSRF-Token')).toBe('tok+en')
    expect(headers.get('Content-Type')).toBe('application/json')
    expect(fetchMock.mock.calls[0]?.[1]?.body).toBe('{"a":1}')
  })

  it('does not send the CSRF header on GET or when the cookie is absent', async () => {
    const fetchMock = mockFetch({
      'GET /api/thing': () => jsonResponse(200, {}),
      'POST /api/thing': () => jsonResponse(200, {}),
    })
    await api.post('/api/thing')
    expect(headersOf(fetchMock, 0).has('X-CSRF-Token')).toBe(false)
    document.cookie = 'codemetrics_csrf=abc; path=/'
    await api.get('/api/thing')
    expect(headersOf(fetchMock, 1).has('X-CSRF-Token')).toBe(false)
  })

  it('reads cookies by exact name', () => {
    document.cookie = 'xcodemetrics_csrf=wrong; path=/'
    expect(readCookie('codemetrics_csrf')).toBeUndefined()
    document.cookie = 'codemetrics_csrf=right; path=/'
    expect(readCookie('codemetrics_csrf')).toBe('right')
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
