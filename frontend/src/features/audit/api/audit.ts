import { client, type Schemas } from '../../../lib/api'
import { useInfiniteList } from '../../../lib/useInfiniteList'

/** One audit event, as GET /api/audit-events returns it. */
export type AuditEvent = Schemas['AuditEvent']

export const AUDIT_ACTIONS = [
  { value: 'token.created', label: 'Token created' },
  { value: 'token.revoked', label: 'Token revoked' },
  { value: 'token.exported', label: 'Tokens exported' },
  { value: 'auth.signed_in', label: 'Signed in' },
  { value: 'auth.sign_in_denied', label: 'Sign-in denied' },
  { value: 'auth.signed_out', label: 'Signed out' },
  { value: 'auth.session_token_issued', label: 'Session token issued' },
  { value: 'service_user.created', label: 'Service user created' },
  { value: 'service_user.updated', label: 'Service user changed' },
  { value: 'service_user.disabled', label: 'Service user disabled' },
  { value: 'service_user.enabled', label: 'Service user enabled' },
  { value: 'service_user.deleted', label: 'Service user deleted' },
  { value: 'pipeline_run.deleted', label: 'Run deleted' },
] as const

/** A service user's field as an audit event holds it, in words. */
function shown(value: unknown): string {
  if (Array.isArray(value)) return value.length ? value.map(String).join(' ') : '(none)'
  if (typeof value === 'string') return value === '' ? '(empty)' : `“${value}”`
  return JSON.stringify(value)
}

/** What a service user's change changed: "workloads * → team-a; disabled false → true". */
function changes(before: unknown, after: unknown): string {
  if (!before || typeof before !== 'object' || !after || typeof after !== 'object') return ''
  const b = before as Record<string, unknown>
  const a = after as Record<string, unknown>
  return Object.keys(a)
    .filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]))
    .map((k) => `${k} ${shown(b[k])} → ${shown(a[k])}`)
    .join('; ')
}

export function actionLabel(action: string): string {
  return AUDIT_ACTIONS.find((a) => a.value === action)?.label ?? action
}

export const AUDIT_PAGE_SIZE = 50

/** The audit log, newest first, a page at a time, optionally for one action. */
export function useAuditEvents(action: string) {
  return useInfiniteList(['audit-events', { action }], (cursor, signal) =>
    client.GET('/api/audit-events', { params: { query: { limit: AUDIT_PAGE_SIZE, action: action || undefined, cursor } }, signal }),
  )
}

/** A one-line, human summary of an event's details. */
export function describeDetails(event: AuditEvent): string {
  const d = event.details ?? {}
  const str = (key: string) => (typeof d[key] === 'string' ? (d[key] as string) : undefined)
  switch (event.action) {
    case 'token.created': {
      const scopes = Array.isArray(d.scopes) ? (d.scopes as unknown[]).join(', ') : undefined
      return [str('subject') && `Subject “${str('subject')}”`, scopes && `scopes ${scopes}`].filter(Boolean).join('; ')
    }
    case 'token.revoked':
      return [str('subject') && `Subject “${str('subject')}”`, d.serviceUserDeleted === true && 'with its service user']
        .filter(Boolean)
        .join(', ')
    case 'service_user.created':
      return [`scopes ${shown(d.scopes)}`, `workloads ${shown(d.workloads)}`].join('; ')
    case 'service_user.updated':
    case 'service_user.disabled':
    case 'service_user.enabled':
      return changes(d.before, d.after) || 'no field changed'
    case 'service_user.deleted': {
      const revoked: unknown = d.revokedTokens
      return typeof revoked === 'number' ? `${revoked} active token(s) revoked with it` : ''
    }
    case 'pipeline_run.deleted':
      return [str('id') && `Run #${str('id')}`, str('workload') && `of ${str('workload')}`, str('serviceUser') && `recorded by ${str('serviceUser')}`]
        .filter(Boolean)
        .join(' ')
    case 'auth.signed_in':
      return [str('name'), str('reason')].filter(Boolean).join(' — ')
    case 'auth.sign_in_denied':
      return str('reason') ?? ''
    case 'auth.session_token_issued':
      return [str('jti') && `Token ${str('jti')}`, str('expires') && `expires ${str('expires')}`].filter(Boolean).join('; ')
    default:
      return Object.entries(d)
        .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join('; ')
  }
}

/**
 * How the actor acted, in words: the credential ("session:AbCd1234", "session-token:…",
 * "token:…", "cli", "oidc"), the client's address and the request id; "—" for what is not known
 * (events recorded before these were kept).
 */
export function describeSource(event: AuditEvent): { credential: string; from?: string; requestId?: string } {
  return {
    credential: event.credential || '—',
    from: event.clientAddress || undefined,
    requestId: event.requestId || undefined,
  }
}
