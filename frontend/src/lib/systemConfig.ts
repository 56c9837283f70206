import { useQuery } from '@tanstack/react-query'
import { client, ok, type Schemas } from './api'

/** GET /api/system/config: the non-secret configuration in force. */
export type SystemConfig = Schemas['SystemConfig']

/** The configuration in force, read once per page load: the Administration page and the token forms use it. */
export function useSystemConfig() {
  return useQuery({
    queryKey: ['system', 'config'],
    queryFn: ({ signal }) => ok(client.GET('/api/system/config', { signal })),
    staleTime: Infinity,
  })
}
