// The client for the CodeMetrics HTTP API, typed from its OpenAPI document.
//
// - `client` is openapi-fetch over the types that openapi-typescript generates from
//   backend/internal/httpapi/openapi.json (`npm run gen:api`; a test fails when they drift), so
//   paths, parameters, bodies and responses are checked by the compiler.
// - Requests carry the session cookie (same-origin only); unsafe methods send the CSRF token
//   from the `codemetrics_csrf` cookie in the `X-CSRF-Token` header (double-submit cookie).
// - `ok` turns a non-2xx response into an ApiError carrying the HTTP status and the RFC 9457
//   problem details (`title`, `detail`) when the body has them.

import createClient, { type Middleware } from 'openapi-fetch'
import type { components, paths } from './openapi-schema'

/** The API's named schemas (Token, Run, Series, ...). */
export type Schemas = components['schemas']

export const CSRF_COOKIE = 'codemetrics_csrf'
export const CSRF_HEADER = 'X-CSRF-Token'

/** RFC 9457 problem details object. */
export interface ProblemDetails {
  type?: string
  title?: string
  status?: number
  detail?: string
  instance?: string
  [extension: string]: unknown
}

export class ApiError extends Error {
  readonly status: number
  readonly title: string
  readonly detail?: string
  readonly problem?: ProblemDetails

  constructor(status: number, title: string, detail?: string, problem?: ProblemDetails) {
    super(detail ? `${title}: ${detail}` : title)
    this.name = 'ApiError'
    this.status = status
    this.title = title
    this.detail = detail
    this.problem = problem
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Returns the value of the named cookie, or undefined when it is not set. */
export function readCookie(name: string): string | undefined {
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim()
      try {
        return decodeURIComponent(value)
      } catch {
        return value
      }
    }
  }
  return undefined
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (!SAFE_METHODS.has(request.method)) {
      const token = readCookie(CSRF_COOKIE)
      if (token) request.headers.set(CSRF_HEADER, token)
    }
    return request
  },
}

export const client = createClient<paths>({
  // Absolute, so the same code runs in the browser and under the unit tests' fetch.
  baseUrl: window.location.origin,
  credentials: 'same-origin',
  headers: { Accept: 'application/json' },
  // Looked up on each call, so tests can stub the global fetch after this module loads.
  fetch: (request) => globalThis.fetch(request),
})
client.use(csrf)

/** What every openapi-fetch call resolves to. */
interface Result<D> {
  data?: D
  error?: unknown
  response: Response
}

/** The error for a non-2xx response, from its problem details when it has them. */
export function toApiError(response: Response, body: unknown): ApiError {
  const problem = body && typeof body === 'object' ? (body as ProblemDetails) : undefined
  const title =
    typeof problem?.title === 'string' && problem.title ? problem.title : response.statusText || `HTTP ${response.status}`
  const detail = typeof problem?.detail === 'string' ? problem.detail : undefined
  return new ApiError(response.status, title, detail, problem)
}

/** The body of a successful response, with its headers (for paging headers). */
export async function okWithHeaders<D>(pending: Promise<Result<D>>): Promise<{ data: D; headers: Headers }> {
  const { data, error, response } = await pending
  if (!response.ok) throw toApiError(response, error)
  return { data: data as D, headers: response.headers }
}

/** The body of a successful response; throws an ApiError for any other. */
export async function ok<D>(pending: Promise<Result<D>>): Promise<D> {
  return (await okWithHeaders(pending)).data
}

/** The target of the `rel="next"` link in an RFC 8288 Link header, if any. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined
  for (const part of header.split(',')) {
    const match = /<([^>]*)>\s*;(.*)/.exec(part.trim())
    if (match && /(^|;)\s*rel="?next"?\s*(;|$)/.test(match[2] ?? '')) return match[1]
  }
  return undefined
}

/** A human-readable message for any error thrown by the client. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.detail ?? error.title
  if (error instanceof Error) return error.message
  return String(error)
}
