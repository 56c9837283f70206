import { useQuery } from '@tanstack/react-query'
import { client, ok, type Schemas } from '../../../lib/api'

/** GET /api/system/config: the non-secret configuration in force. */
export type SystemConfig = Schemas['SystemConfig']

/** GET /api/admin/access: where administrators come from, and who signed in as one lately. */
export type AdminAccess = Schemas['Access']

export function useSystemConfig() {
  return useQuery({
    queryKey: ['system', 'config'],
    queryFn: ({ signal }) => ok(client.GET('/api/system/config', { signal })),
  })
}

export function useAdminAccess() {
  return useQuery({
    queryKey: ['admin', 'access'],
    queryFn: ({ signal }) => ok(client.GET('/api/admin/access', { signal })),
  })
}
