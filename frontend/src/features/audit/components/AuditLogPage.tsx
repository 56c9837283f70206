import { ScrollText } from 'lucide-react'
import { PageHeader } from '../../../components/layout/PageHeader'
import { Badge } from '../../../components/ui/Badge'
import { DataTable, cell as td } from '../../../components/ui/DataTable'
import { EmptyState } from '../../../components/ui/EmptyState'
import { PagedList } from '../../../components/ui/PagedList'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { SelectField } from '../../../components/ui/SelectField'
import { useNow } from '../../../lib/useNow'
import { useSearchParam } from '../../../lib/useSearchParam'
import { AUDIT_ACTIONS, actionLabel, describeDetails, describeSource, useAuditEvents } from '../api/audit'

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

const ACTION_OPTIONS = [{ value: '', label: 'All actions' }, ...AUDIT_ACTIONS]

const columns = ['Time', 'Actor', 'Credential', 'Action', 'Target', 'Details']

/** Admin > Audit Log: who did what, when, with which credential, to which token. */
export function AuditLogPage() {
  const [param, setAction] = useSearchParam('action')
  const action = AUDIT_ACTIONS.some((a) => a.value === param) ? param : ''
  const query = useAuditEvents(action)
  const now = useNow()

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

      <div className="mb-4">
        <SelectField label="Action" value={action} onChange={setAction} options={ACTION_OPTIONS} selectClassName="field-input w-auto" />
      </div>

      <PagedList
        query={query}
        loading="Loading the audit log…"
        failed="Could not load the audit log"
        noun={['event', 'events']}
        empty={
          <EmptyState icon={ScrollText}>
            <p className="font-medium">No events{action ? ` of type “${actionLabel(action)}”` : ''} yet.</p>
          </EmptyState>
        }
      >
        {(events) => (
          <DataTable caption="Audit events, newest first" columns={columns}>
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
          </DataTable>
        )}
      </PagedList>
    </>
  )
}
