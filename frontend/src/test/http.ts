import { vi } from 'vitest'

export function jsonResponse(status: number, body: unknown, contentType = 'application/json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': contentType } })
}

export function problem(status: number, title: string, detail?: string, code?: string): Response {
  return jsonResponse(status, { type: 'about:blank', title, status, code, detail }, 'application/problem+json')
}

type Route = (request: Request) => Response | Promise<Response>

/** A recorded request, keyed like the routes ("METHOD /path?query"). */
export interface RecordedRequest {
  key: string
  request: Request
}

/**
 * Stubs global fetch with a table of `"METHOD /path?query"` handlers (same-origin paths);
 * unknown routes get 404. Returns the requests made, in order, each still readable.
 */
export function mockFetch(routes: Record<string, Route>): RecordedRequest[] {
  const requests: RecordedRequest[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = input instanceof Request ? input : new Request(new URL(input, window.location.origin), init)
      const url = new URL(request.url)
      const key = `${request.method} ${url.pathname}${url.search}`
      requests.push({ key, request: request.clone() })
      const route = routes[key]
      return route ? route(request) : problem(404, 'Not Found', `no mock for ${key}`)
    }),
  )
  return requests
}

/** A page of a list as the API sends it: the items, and X-Total-Count saying how many there are. */
export function listResponse(items: unknown[], total = items.length): () => Response {
  return () =>
    new Response(JSON.stringify(items), {
      status: 200,
      headers: { 'Content-Type': 'application/json', 'X-Total-Count': String(total) },
    })
}
