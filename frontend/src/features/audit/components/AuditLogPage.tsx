import { useId } from 'react'
import { ScrollText } from 'lucide-react'
import { useSearchParams } from 'react-router'
import { PageHeader } from '../../../components/layout/PageHeader'
import { LoadError } from '../../../components/ui/LoadError'
import { LoadMoreButton } from '../../../components/ui/LoadMoreButton'
import { Badge } from '../../../components/ui/Badge'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { Spinner } from '../../../components/ui/Spinner'
import { useNow } from '../../../lib/useNow'
import { AUDIT_ACTIONS, actionLabel, describeDetails, describeSource, useAuditEvents } from '../api/audit'

const th = 'px-4 py-3 text-left text-xs font-semibold tracking-wide text-slate-600 uppercase dark:text-slate-400'
const td = 'px-4 py-3 align-top text-sm'

const dangerous = new Set(['token.revoked', 'auth.sign_in_denied', 'service_user.disabled', 'service_user.deleted', 'pipeline_run.deleted'])
const granting = new Set(['token.created', 'service_user.created', 'service_user.enabled'])

const actionTone = (action: string) => (dangerous.has(action) ? 'danger' : granting.has(action) ? 'success' : 'neutral')

/** The credential an event was made with, and the client address and request id below it. */
function SourceCell({ event }: { event: Parameters<typeof describeSource>[0] }) {
  const source = describeSource(event)
  return (
    <>
      <span className="font-mono text-xs">{source.credential}</span>
      {(source.from || source.requestId) && (
        <span className="muted block text-xs">
          {source.from && <>from {source.from}</>}
          {source.from && source.requestId && ' · '}
          {source.requestId && <>request {source.requestId}</>}
        </span>
      )}
    </>
  )
}

/** Admin > Audit Log: who did what, when, with which credential, to which token. */
export function AuditLogPage() {
  const [params, setParams] = useSearchParams()
  const known = AUDIT_ACTIONS.map((a) => a.value as string)
  const action = known.includes(params.get('action') ?? '') ? (params.get('action') as string) : ''
  const query = useAuditEvents(action)
  const events = query.data?.items ?? []
  const now = useNow()
  const selectId = useId()

  return (
    <>
      <PageHeader
        title="Audit Log"
        breadcrumbs={[{ label: 'Admin', to: '/admin' }, { label: 'Audit Log' }]}
        description={
          <p>
            Every token and sign-in action: who did what, when, with which credential, from where, and to which token.
            Newest first.
          </p>
        }
      />

      <div className="mb-4 space-y-1">
        <label htmlFor={selectId} className="block text-sm font-medium">
          Action
        </label>
        <select
          id={selectId}
          className="field-input w-auto"
          value={action}
          onChange={(e) =>
            setParams(
              () => {
                const next = new URLSearchParams(window.location.search)
                if (e.target.value) next.set('action', e.target.value)
                else next.delete('action')
                return next
              },
              { replace: true },
            )
          }
        >
          <option value="">All actions</option>
          {AUDIT_ACTIONS.map((a) => (
            <option key={a.value} value={a.value}>
              {a.label}
            </option>
          ))}
        </select>
      </div>

      {query.isPending ? (
        <Spinner label="Loading the audit log…" />
      ) : query.isError ? (
        <LoadError title="Could not load the audit log" error={query.error} onRetry={() => void query.refetch()} />
      ) : events.length === 0 ? (
        <div className="card flex flex-col items-center gap-3 py-12 text-center">
          <ScrollText aria-hidden="true" className="muted size-8" />
          <p className="font-medium">No events{action ? ` of type “${actionLabel(action)}”` : ''} yet.</p>
        </div>
      ) : (
        <>
          <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
            <table className="min-w-full divide-y divide-slate-200 dark:divide-slate-800">
              <caption className="sr-only">Audit events, newest first</caption>
              <thead className="bg-slate-50 dark:bg-slate-900">
                <tr>
                  <th scope="col" className={th}>Time</th>
                  <th scope="col" className={th}>Actor</th>
                  <th scope="col" className={th}>Credential</th>
                  <th scope="col" className={th}>Action</th>
                  <th scope="col" className={th}>Target</th>
                  <th scope="col" className={th}>Details</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-200 dark:divide-slate-800">
                {events.map((event) => (
                  <tr key={event.id}>
                    <td className={`${td} whitespace-nowrap`}>
                      <RelativeTime value={event.time} now={now} />
                    </td>
                    <td className={`${td} break-all`}>{event.actor}</td>
                    <td className={`${td} break-all`}>
                      <SourceCell event={event} />
                    </td>
                    <td className={`${td} whitespace-nowrap`}>
                      <Badge tone={actionTone(event.action)}>{actionLabel(event.action)}</Badge>
                    </td>
                    <td className={`${td} font-mono text-xs break-all`}>{event.target || '—'}</td>
                    <td className={`${td} break-all`}>{describeDetails(event)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="mt-3 flex items-center justify-between text-sm">
            <p className="muted">
              Showing {events.length.toLocaleString('en')} {events.length === 1 ? 'event' : 'events'}
            </p>
            <LoadMoreButton query={query} />
          </div>
        </>
      )}
    </>
  )
}
