// Minimal client for the CodeMetrics HTTP API.
//
// - Sends and receives JSON, with the session cookie (same-origin only).
// - Non-2xx responses become an ApiError carrying the HTTP status and the
//   RFC 9457 problem details (`title`, `detail`) when the body has them.
// - Unsafe methods send the CSRF token from the `codemetrics_csrf` cookie
//   in the `X-CSRF-Token` header (double-submit cookie).

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

export interface RequestOptions {
  body?: unknown
  signal?: AbortSignal
}

function isJson(contentType: string | null): boolean {
  return contentType !== null && /^application\/([\w.+-]+\+)?json\b/i.test(contentType)
}

/** A parsed response body together with the response headers (for paging headers). */
export interface ApiResponse<T> {
  data: T
  headers: Headers
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  return (await requestWithHeaders<T>(method, path, options)).data
}

export async function requestWithHeaders<T>(
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<ApiResponse<T>> {
  const headers = new Headers({ Accept: 'application/json' })
  let body: string | undefined
  if (options.body !== undefined) {
    headers.set('Content-Type', 'application/json')
    body = JSON.stringify(options.body)
  }
  const upper = method.toUpperCase()
  if (!SAFE_METHODS.has(upper)) {
    const csrf = readCookie(CSRF_COOKIE)
    if (csrf) headers.set(CSRF_HEADER, csrf)
  }

  const response = await fetch(path, {
    method: upper,
    headers,
    body,
    credentials: 'same-origin',
    signal: options.signal,
  })

  const contentType = response.headers.get('Content-Type')
  if (!response.ok) {
    let problem: ProblemDetails | undefined
    if (isJson(contentType)) {
      try {
        const parsed: unknown = await response.json()
        if (parsed && typeof parsed === 'object') problem = parsed as ProblemDetails
      } catch {
        // Not valid JSON: fall back to the status line.
      }
    }
    const title =
      typeof problem?.title === 'string' && problem.title
        ? problem.title
        : response.statusText || `HTTP ${response.status}`
    const detail = typeof problem?.detail === 'string' ? problem.detail : undefined
    throw new ApiError(response.status, title, detail, problem)
  }

  if (response.status === 204 || !isJson(contentType)) {
    return { data: undefined as T, headers: response.headers }
  }
  return { data: (await response.json()) as T, headers: response.headers }
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

export const api = {
  get: <T>(path: string, options?: Omit<RequestOptions, 'body'>) => request<T>('GET', path, options),
  getWithHeaders: <T>(path: string, options?: Omit<RequestOptions, 'body'>) =>
    requestWithHeaders<T>('GET', path, options),
  post: <T>(path: string, body?: unknown, options?: Omit<RequestOptions, 'body'>) =>
    request<T>('POST', path, { ...options, body }),
  put: <T>(path: string, body?: unknown, options?: Omit<RequestOptions, 'body'>) =>
    request<T>('PUT', path, { ...options, body }),
  patch: <T>(path: string, body?: unknown, options?: Omit<RequestOptions, 'body'>) =>
    request<T>('PATCH', path, { ...options, body }),
  delete: <T>(path: string, options?: Omit<RequestOptions, 'body'>) => request<T>('DELETE', path, options),
}

/** A human-readable message for any error thrown by the client. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.detail ?? error.title
  if (error instanceof Error) return error.message
  return String(error)
}
