import { vi } from 'vitest'

export function jsonResponse(status: number, body: unknown, contentType = 'application/json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': contentType } })
}

export function problem(status: number, title: string, detail?: string): Response {
  return jsonResponse(status, { type: 'about:blank', title, status, detail }, 'application/problem+json')
}

type Route = (init: RequestInit | undefined) => Response | Promise<Response>

/** Stubs global fetch with a table of `"METHOD /path"` handlers; unknown routes get 404. */
export function mockFetch(routes: Record<string, Route>) {
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    const key = `${(init?.method ?? 'GET').toUpperCase()} ${url}`
    const route = routes[key]
    return route ? route(init) : problem(404, 'Not Found', `no mock for ${key}`)
  })
  vi.stubGlobal('fetch', fetchMock)
  return fetchMock
}
