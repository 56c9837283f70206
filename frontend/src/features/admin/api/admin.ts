import { useQuery } from '@tanstack/react-query'
import { client, ok, type Schemas } from '../../../lib/api'

/** GET /api/admin/access: where administrators come from, and who signed in as one lately. */
export type AdminAccess = Schemas['Access']

export function useAdminAccess() {
  return useQuery({
    queryKey: ['admin', 'access'],
    queryFn: ({ signal }) => ok(client.GET('/api/admin/access', { signal })),
  })
}

/** GET /api/admin/sessions: one live administrator session. */
export type AdminSession = Schemas['AdminSession']

export const sessionsKey = ['admin', 'sessions'] as const

export function useSessions() {
  return useQuery({
    queryKey: sessionsKey,
    queryFn: ({ signal }) => ok(client.GET('/api/admin/sessions', { signal })),
  })
}

/** Ends one session: its cookie and its session tokens stop working at once. */
export async function endSession(sessionId: string): Promise<void> {
  await ok(client.DELETE('/api/admin/sessions/{sessionId}', { params: { path: { sessionId } } }))
}

/** Ends every session of one person (their identity key); returns how many ended. */
export async function endSessionsOf(identity: string): Promise<number> {
  const body = await ok(client.DELETE('/api/admin/sessions', { params: { query: { identity } } }))
  return body.ended
}
