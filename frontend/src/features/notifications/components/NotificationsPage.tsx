import { BellRing, Mail, Send, Webhook } from 'lucide-react'
import { PageHeader } from '../../../components/layout/PageHeader'
import { Alert } from '../../../components/ui/Alert'
import { Badge } from '../../../components/ui/Badge'
import { DataTable, cell as td } from '../../../components/ui/DataTable'
import { Detail, Details } from '../../../components/ui/Details'
import { EmptyState } from '../../../components/ui/EmptyState'
import { LoadError } from '../../../components/ui/LoadError'
import { PagedList } from '../../../components/ui/PagedList'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { Spinner } from '../../../components/ui/Spinner'
import { errorMessage } from '../../../lib/api'
import { formatDuration } from '../../../lib/time'
import { useNow } from '../../../lib/useNow'
import {
  eventLabel,
  statusTone,
  useDeliveries,
  useNotificationSettings,
  useSendTest,
  type NotificationSettings,
  type TestResult,
} from '../api/notifications'

/** "30, 7 and 1". */
function listOf(items: number[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`
}

function KindIcon({ kind }: { kind: string }) {
  const cls = 'size-4 shrink-0 text-slate-500 dark:text-slate-400'
  return kind === 'email' ? <Mail aria-label="email" className={cls} /> : <Webhook aria-label="webhook" className={cls} />
}

/** The configured destinations and how they are sent to, with "Send a test" and its results. */
function Destinations({ settings }: { settings: NotificationSettings }) {
  const send = useSendTest()
  const none = settings.destinations.length === 0
  const results = new Map<string, TestResult>((send.data ?? []).map((r) => [r.id, r]))
  return (
    <section aria-labelledby="destinations" className="card mb-6 flex flex-col gap-4">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="space-y-1">
          <h2 id="destinations" className="text-lg font-semibold">
            Destinations
          </h2>
          <p className="muted text-sm">
            Warnings go out {listOf(settings.thresholdDays)} days before a service token expires, and when it
            expires or is revoked. Each instance checks every {formatDuration(settings.checkIntervalSeconds).replace(/^1 /, '')}.
            Webhooks show their scheme and host only: their path is often their secret.
          </p>
        </div>
        <button type="button" className="btn-primary" disabled={none || send.isPending} onClick={() => send.mutate()}>
          <Send aria-hidden="true" className="size-4" />
          {send.isPending ? 'Sending…' : 'Send a test'}
        </button>
      </div>

      {none ? (
        <Alert tone="info">
          <p>
            No destination is configured. Set <code className="font-mono">NOTIFY_WEBHOOK_URLS</code> (and{' '}
            <code className="font-mono">NOTIFY_WEBHOOK_SECRET</code>), or <code className="font-mono">SMTP_URL</code>{' '}
            and <code className="font-mono">NOTIFY_EMAILS</code>, and restart CodeMetrics.
          </p>
        </Alert>
      ) : (
        <ul className="divide-y divide-slate-200 text-sm dark:divide-slate-800" aria-label="Destinations">
          {settings.destinations.map((d) => {
            const result = results.get(d.id)
            return (
              <li key={d.id} className="flex flex-wrap items-center justify-between gap-x-4 gap-y-1 py-2">
                <span className="flex min-w-0 items-center gap-2">
                  <KindIcon kind={d.kind} />
                  <span className="font-mono text-xs break-all">{d.destination}</span>
                </span>
                {result && (
                  <span className="flex flex-wrap items-center gap-2">
                    <Badge tone={statusTone(result.status)}>{result.status === 'delivered' ? 'Test delivered' : 'Test failed'}</Badge>
                    {result.error && <span className="text-xs break-all text-red-700 dark:text-red-300">{result.error}</span>}
                  </span>
                )}
              </li>
            )
          })}
        </ul>
      )}

      {send.isError && (
        <Alert tone="error" role="alert">
          <p>Could not send the test: {errorMessage(send.error)}</p>
        </Alert>
      )}
      {send.data && (
        <p role="status" className="text-sm">
          Test sent: {send.data.filter((r) => r.status === 'delivered').length} of {send.data.length} delivered.
        </p>
      )}

      <Details>
        <Detail label="Webhook signature" className="font-medium">
          {settings.webhookSigned ? (
            <>
              CodeMetrics-Signature, HMAC-SHA256 <span className="muted font-normal">(NOTIFY_WEBHOOK_SECRET is set; never shown)</span>
            </>
          ) : (
            <>
              not signed <span className="muted font-normal">(NOTIFY_WEBHOOK_SECRET is not set)</span>
            </>
          )}
        </Detail>
        <Detail label="Mail server" className="font-medium break-all">
          {settings.emailServer ?? <span className="muted font-normal">none</span>}
        </Detail>
      </Details>
    </section>
  )
}

const columns = ['Created', 'Event', 'Token', 'Destination', 'Status', 'Attempts', 'Last error']

/** The delivery log: what was sent where, and how it went. */
function DeliveryLog() {
  const query = useDeliveries()
  const now = useNow()
  return (
    <PagedList
      query={query}
      loading="Loading the delivery log…"
      failed="Could not load the delivery log"
      noun={['delivery', 'deliveries']}
      empty={
        <EmptyState icon={BellRing}>
          <p className="font-medium">Nothing has been sent yet.</p>
        </EmptyState>
      }
    >
      {(deliveries) => (
        <DataTable caption="Notification deliveries, newest first" columns={columns}>
          {deliveries.map((d) => (
            <tr key={d.id}>
              <td className={`${td} whitespace-nowrap`}>
                <RelativeTime value={d.created} now={now} />
              </td>
              <td className={`${td} whitespace-nowrap`}>{eventLabel(d)}</td>
              <td className={`${td} break-all`}>
                {d.tokenId ? (
                  <>
                    {d.subject}
                    <span className="muted block font-mono text-xs">{d.tokenId}</span>
                  </>
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
              <td className={`${td} font-mono text-xs break-all`}>{d.destination}</td>
              <td className={`${td} whitespace-nowrap`}>
                <Badge tone={statusTone(d.status)}>{d.status}</Badge>
                {d.nextAttempt && (
                  <span className="muted block text-xs">
                    next try <RelativeTime value={d.nextAttempt} now={now} />
                  </span>
                )}
              </td>
              <td className={td}>{d.attempts}</td>
              <td className={`${td} text-xs break-all`}>{d.lastError ?? <span className="muted">—</span>}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </PagedList>
  )
}

/** Admin > Notifications: where expiry warnings go, a test, and the delivery log. */
export function NotificationsPage() {
  const settings = useNotificationSettings()
  return (
    <>
      <PageHeader
        title="Notifications"
        breadcrumbs={[{ label: 'Admin', to: '/admin' }, { label: 'Notifications' }]}
        description={
          <p>
            Warnings before service tokens expire, and news of expired and revoked ones, sent to webhooks (Slack,
            Mattermost, Teams or your own receiver) and email. Each is delivered once per destination, retried for 24
            hours when a destination fails.
          </p>
        }
      />
      {settings.isPending ? (
        <Spinner label="Loading the destinations…" />
      ) : settings.isError ? (
        <LoadError title="Could not load the destinations" error={settings.error} onRetry={() => void settings.refetch()} />
      ) : (
        <Destinations settings={settings.data} />
      )}
      <h2 className="mb-3 text-lg font-semibold">Delivery log</h2>
      <DeliveryLog />
    </>
  )
}
