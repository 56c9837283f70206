import { useQuery } from '@tanstack/react-query'
import { api } from '../../../lib/api'

/** GET /api/system/config: the non-secret configuration in force. */
export interface SystemConfig {
  version: string
  databaseDriver: string
  serviceTokenTtl: string
  serviceTokenTtlSeconds: number
  tokenIssuer: string
  publicUrl: string
  sessionTtl: string
  identityProvider?: string
}

/** GET /api/admin/access: where administrators come from, and who signed in as one lately. */
export interface AdminAccess {
  identityProvider: string
  groupsClaim: string
  adminGroups: string[] | null
  adminEmails: string[] | null
  recentAdmins: { email: string; name: string; reason: string; lastSignIn: string }[] | null
}

export function useSystemConfig() {
  return useQuery({
    queryKey: ['system', 'config'],
    queryFn: ({ signal }) => api.get<SystemConfig>('/api/system/config', { signal }),
  })
}

export function useAdminAccess() {
  return useQuery({
    queryKey: ['admin', 'access'],
    queryFn: ({ signal }) => api.get<AdminAccess>('/api/admin/access', { signal }),
  })
}
