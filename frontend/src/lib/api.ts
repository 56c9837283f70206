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

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
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
    return undefined as T
  }
  return (await response.json()) as T
}

export const api = {
  get: <T>(path: string, options?: Omit<RequestOptions, 'body'>) => request<T>('GET', path, options),
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
