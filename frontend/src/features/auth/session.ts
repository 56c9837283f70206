import { api } from '../../lib/api'

interface SessionToken {
  sessionToken: string
  expires: string
}

/** The login URL that brings the user back to where they are now. */
export function loginUrl(location: Pick<Location, 'pathname' | 'search'> = window.location): string {
  return `/auth/login?redirect=${encodeURIComponent(location.pathname + location.search)}`
}

/**
 * Mints a session token and writes it straight to the clipboard.
 * The token is never returned, stored or rendered.
 */
export async function copySessionToken(): Promise<void> {
  const { sessionToken } = await api.post<SessionToken>('/api/auth/session-token')
  await navigator.clipboard.writeText(sessionToken)
}

/** Ends the session, then reloads the app from the root. */
export async function signOut(): Promise<void> {
  await api.post('/auth/logout')
  window.location.assign('/')
}
