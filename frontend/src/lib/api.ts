// The client for the CodeMetrics HTTP API, typed from its OpenAPI document.
//
// - `client` is openapi-fetch over the types that openapi-typescript generates from
//   backend/internal/httpapi/openapi.json (`npm run gen:api`; a test fails when they drift), so
//   paths, parameters, bodies and responses are checked by the compiler.
// - Requests carry the session cookie (same-origin only); unsafe methods send the session's CSRF
//   token in the `X-CSRF-Token` header. The token comes from GET /api/auth/me and is kept in
//   memory, never read from a cookie: a sibling subdomain can plant cookies for this host, and
//   a planted `codemetrics_csrf` cookie must not be able to break (or steer) the portal.
// - `ok` turns a non-2xx response into an ApiError carrying the HTTP status and the RFC 9457
//   problem details (`title`, `detail`, and `code`, the refusal's stable name to branch on)
//   when the body has them.

import createClient, { type Middleware } from 'openapi-fetch'
import type { components, paths } from './openapi-schema'

/** The API's named schemas (Token, Run, Series, ...). */
export type Schemas = components['schemas']

export const CSRF_HEADER = 'X-CSRF-Token'

/** The stable name of a refusal (token_expired, csrf_invalid, ...): the problem body's `code`. */
export type ProblemCode = Schemas['Problem']['code']

/** RFC 9457 problem details object. */
export interface ProblemDetails {
  type?: string
  title?: string
  status?: number
  code?: ProblemCode
  detail?: string
  instance?: string
  [extension: string]: unknown
}

export class ApiError extends Error {
  readonly status: number
  readonly title: string
  readonly detail?: string
  /** The refusal's code, when the body is a CodeMetrics problem. */
  readonly code?: ProblemCode
  readonly problem?: ProblemDetails

  constructor(status: number, title: string, detail?: string, problem?: ProblemDetails) {
    super(detail ? `${title}: ${detail}` : title)
    this.name = 'ApiError'
    this.status = status
    this.title = title
    this.detail = detail
    this.code = typeof problem?.code === 'string' ? problem.code : undefined
    this.problem = problem
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

const ME_PATH = '/api/auth/me'

/** The session's CSRF token, as GET /api/auth/me last said; undefined until then. */
let csrfToken: string | undefined

/** Reads the CSRF token out of a GET /api/auth/me response (a copy: the caller reads the body). */
async function rememberCsrfToken(response: Response) {
  const body: unknown = response.ok ? await response.clone().json().catch(() => undefined) : undefined
  const token = body && typeof body === 'object' ? (body as { csrfToken?: unknown }).csrfToken : undefined
  csrfToken = typeof token === 'string' && token ? token : undefined
}

const csrf: Middleware = {
  async onRequest({ request }) {
    if (!SAFE_METHODS.has(request.method)) {
      // A state change before anything asked who is signed in (rare: the app asks first).
      if (csrfToken === undefined) {
        await rememberCsrfToken(
          await globalThis.fetch(new Request(new URL(ME_PATH, window.location.origin), { credentials: 'same-origin' })),
        )
      }
      if (csrfToken) request.headers.set(CSRF_HEADER, csrfToken)
    }
    return request
  },
  async onResponse({ request, response }) {
    if (request.method === 'GET' && new URL(request.url).pathname === ME_PATH) await rememberCsrfToken(response)
    return response
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

/**
 * For `.catch` after a deletion: a 404 means the thing is gone already, which is what was asked;
 * any other error is thrown on.
 */
export function goneAlready(error: unknown): void {
  if (error instanceof ApiError && error.status === 404) return
  throw error
}
