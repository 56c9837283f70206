import { lazy, Suspense, useId } from 'react'
import { ArrowLeft } from 'lucide-react'
import { Link, useParams } from 'react-router'
import { PageHeader } from '../../../components/layout/PageHeader'
import { DataTable, LastUsed, cell } from '../../../components/ui/DataTable'
import { Detail, Details } from '../../../components/ui/Details'
import { LoadError } from '../../../components/ui/LoadError'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { SelectField } from '../../../components/ui/SelectField'
import { Spinner } from '../../../components/ui/Spinner'
import { ApiError } from '../../../lib/api'
import { useNow } from '../../../lib/useNow'
import { useSearchParam } from '../../../lib/useSearchParam'
import { USAGE_RANGES, useToken, useTokenUsage, type ServiceToken, type UsageClient } from '../api/tokens'
import { ExpiryBadge } from './ExpiryBadge'
import { TokenStatusCell } from './TokenStatusCell'

const UsageChart = lazy(() => import('./UsageChart'))

/** A fact's value in the details. */
const fact = 'min-w-0 font-medium break-words'

const crumbs = [
  { label: 'Admin', to: '/admin' },
  { label: 'Service Tokens', to: '/admin/service-tokens' },
]

/** Admin > Service Tokens > one token: its details, its requests per day and its recent clients. */
export function TokenPage() {
  const tokenId = useParams().tokenId ?? ''
  const query = useToken(tokenId)

  if (query.isError && query.error instanceof ApiError && query.error.status === 404) {
    return (
      <>
        <PageHeader title="Token not found" breadcrumbs={[...crumbs, { label: 'Not found' }]} />
        <div className="card space-y-3 text-sm">
          <p>
            No token with that id: <span className="font-mono break-all">{tokenId}</span>.
          </p>
          <Link to="/admin/service-tokens" className="btn-secondary">
            <ArrowLeft aria-hidden="true" className="size-4" />
            All service tokens
          </Link>
        </div>
      </>
    )
  }
  if (query.isPending) return <Spinner label="Loading the token…" />
  if (query.isError) {
    return (
      <>
        <PageHeader title="Service token" breadcrumbs={[...crumbs, { label: 'Token' }]} />
        <LoadError title="Could not load the token" error={query.error} onRetry={() => void query.refetch()} />
      </>
    )
  }
  return <TokenView token={query.data} />
}

function TokenView({ token }: { token: ServiceToken }) {
  const now = useNow()
  return (
    <>
      <PageHeader
        title={token.sub}
        breadcrumbs={[...crumbs, { label: token.sub }]}
        description={token.description ? <p>{token.description}</p> : undefined}
      />
      <div className="space-y-8">
        <section aria-label="Details" className="card space-y-3">
          <div className="flex flex-wrap items-start gap-2">
            <TokenStatusCell token={token} now={now} />
            {token.status === 'active' && <ExpiryBadge expires={token.expires} now={now} />}
          </div>
          <Details>
            <Detail label="Token id" className={`${fact} font-mono break-all`}>
              {token.tokenId}
            </Detail>
            <Detail label="Service user" className={fact}>
              <Link className="link break-all" to={`/admin/service-users/${token.serviceUserId}`}>
                {token.sub}
              </Link>
            </Detail>
            <Detail label="Scopes" className={fact}>
              <span className="font-mono">{token.scopes.join(' ')}</span>
            </Detail>
            <Detail label="Created" className={fact}>
              <RelativeTime value={token.created} now={now} />
            </Detail>
            <Detail label="Created by" className={`${fact} break-all`}>
              {token.createdBy}
            </Detail>
            <Detail label="Expires" className={fact}>
              <RelativeTime value={token.expires} now={now} />
            </Detail>
            <Detail label="Last used" className={fact}>
              <LastUsed value={token.lastUsed} now={now} />
              {token.lastUsed && token.lastUsedAddress && (
                <>
                  {' '}
                  from <span className="font-mono break-all">{token.lastUsedAddress}</span>
                </>
              )}
            </Detail>
            {token.lastUsed && (
              <Detail label="Last user agent" className={`${fact} font-mono break-all`}>
                {token.lastUsedUserAgent || <span className="muted font-sans">None sent</span>}
              </Detail>
            )}
            <Detail label="Description" className={fact}>
              {token.description || <span className="muted">—</span>}
            </Detail>
          </Details>
        </section>

        <Usage tokenId={token.tokenId} now={now} />
      </div>
    </>
  )
}

function Usage({ tokenId, now }: { tokenId: string; now: Date }) {
  const headingId = useId()
  const [rangeParam, setRange] = useSearchParam('days')
  const range = USAGE_RANGES.find((r) => r.value === rangeParam)?.value ?? '30'
  const query = useTokenUsage(tokenId, Number(range), now)
  return (
    <section aria-labelledby={headingId} className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <h2 id={headingId} className="text-lg font-semibold">
          Usage
        </h2>
        <SelectField
          label="Range"
          value={range}
          onChange={(value) => setRange(value === '30' ? '' : value)}
          options={USAGE_RANGES}
          selectClassName="field-input w-auto"
        />
      </div>
      {query.isPending ? (
        <Spinner label="Loading the usage…" />
      ) : query.isError ? (
        <LoadError title="Could not load the usage" error={query.error} onRetry={() => void query.refetch()} />
      ) : (
        <div className={`space-y-6 ${query.isPlaceholderData ? 'opacity-60' : ''}`} aria-busy={query.isPlaceholderData || undefined}>
          <div className="card">
            <Suspense fallback={<Spinner label="Loading the chart…" />}>
              <UsageChart days={query.data.days} />
            </Suspense>
          </div>
          <Clients clients={query.data.clients} now={now} />
        </div>
      )}
    </section>
  )
}

const clientColumns = ['Address', 'User agent', 'First seen', 'Last seen', { label: 'Requests', align: 'right' }] as const

/** The token's most recent clients (at most 20), most recently seen first. */
function Clients({ clients, now }: { clients: UsageClient[]; now: Date }) {
  return (
    <div className="space-y-2">
      <h3 className="font-semibold">
        Recent clients
      </h3>
      {clients.length === 0 ? (
        <p className="muted text-sm">No client has used this token recently.</p>
      ) : (
        <DataTable caption="Recent clients" columns={clientColumns}>
          {clients.map((c) => (
            <tr key={`${c.address} ${c.userAgent}`}>
              <th scope="row" className={`${cell} text-left font-mono font-normal break-all`}>
                {c.address}
              </th>
              <td className={`${cell} max-w-md font-mono text-xs break-all`}>
                {c.userAgent || <span className="muted font-sans">None sent</span>}
              </td>
              <td className={`${cell} whitespace-nowrap`}>
                <RelativeTime value={c.firstSeen} now={now} />
              </td>
              <td className={`${cell} whitespace-nowrap`}>
                <RelativeTime value={c.lastSeen} now={now} />
              </td>
              <td className={`${cell} text-right tabular-nums`}>{c.requests.toLocaleString('en')}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </div>
  )
}
