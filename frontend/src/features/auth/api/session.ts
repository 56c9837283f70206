import { useQuery } from '@tanstack/react-query'
import { client, ok, type Schemas } from '../../../lib/api'

/** The signed-in user, as returned by GET /api/auth/me. */
export type Me = Schemas['Me']

export const meQueryKey = ['auth', 'me'] as const

/** The current session; a 401 is an error with status 401 (signed out). */
export function useMe() {
  return useQuery({
    queryKey: meQueryKey,
    queryFn: ({ signal }) => ok(client.GET('/api/auth/me', { signal })),
    staleTime: 5 * 60_000,
  })
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
  const { sessionToken } = await ok(client.POST('/api/auth/session-token'))
  await navigator.clipboard.writeText(sessionToken)
}

/** Ends the session, then reloads the app from the root. */
export async function signOut(): Promise<void> {
  await ok(client.POST('/auth/logout'))
  window.location.assign('/')
}
