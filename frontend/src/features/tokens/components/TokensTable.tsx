import { memo } from 'react'
import { Trash2 } from 'lucide-react'
import { Link } from 'react-router'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { expiryStatus } from '../../../lib/time'
import type { ServiceToken } from '../api/tokens'
import { ExpiryBadge } from './ExpiryBadge'

interface TokensTableProps {
  tokens: ServiceToken[]
  now: Date
  onRevoke: (token: ServiceToken) => void
  /** Link each subject to its service user's page (off on that page itself). */
  linkSubjects?: boolean
}

const th = 'px-4 py-3 text-left text-xs font-semibold tracking-wide text-slate-600 uppercase dark:text-slate-400'
const td = 'px-4 py-3 align-top text-sm'

/** The active tokens; rows expiring within 30 days are highlighted. */
export function TokensTable({ tokens, now, onRevoke, linkSubjects = true }: TokensTableProps) {
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <table className="min-w-full divide-y divide-slate-200 dark:divide-slate-800">
        <caption className="sr-only">Active service tokens</caption>
        <thead className="bg-slate-50 dark:bg-slate-900">
          <tr>
            <th scope="col" className={th}>
              Subject
            </th>
            <th scope="col" className={th}>
              Created
            </th>
            <th scope="col" className={th}>
              Expires
            </th>
            <th scope="col" className={th}>
              Created By
            </th>
            <th scope="col" className={th}>
              Last Used
            </th>
            <th scope="col" className={`${th} text-right`}>
              Actions
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-200 dark:divide-slate-800">
          {tokens.map((token) => (
            <TokenRow key={token.tokenId} token={token} now={now} onRevoke={onRevoke} linkSubject={linkSubjects} />
          ))}
        </tbody>
      </table>
    </div>
  )
}

const TokenRow = memo(function TokenRow({
  token,
  now,
  onRevoke,
  linkSubject,
}: {
  token: ServiceToken
  now: Date
  onRevoke: (token: ServiceToken) => void
  linkSubject: boolean
}) {
  const soon = expiryStatus(token.expires, now) !== 'ok'
  return (
    <tr
      data-token-id={token.tokenId}
      className={soon ? 'bg-amber-50 dark:bg-amber-400/10' : 'hover:bg-slate-50 dark:hover:bg-slate-800/50'}
    >
      <th scope="row" className={`${td} max-w-xs text-left font-medium`}>
        {linkSubject ? (
          <Link className="link break-all" to={`/admin/service-users/${token.serviceUserId}`}>
            {token.sub}
          </Link>
        ) : (
          <span className="break-all">{token.sub}</span>
        )}
        <span className="muted block font-mono text-xs font-normal">{token.scopes.join(' ')}</span>
      </th>
      <td className={`${td} whitespace-nowrap`}>
        <RelativeTime value={token.created} now={now} />
      </td>
      <td className={`${td} whitespace-nowrap`}>
        <div className="flex flex-col items-start gap-1">
          <RelativeTime value={token.expires} now={now} />
          <ExpiryBadge expires={token.expires} now={now} />
        </div>
      </td>
      <td className={`${td} break-all`}>{token.createdBy}</td>
      <td className={`${td} whitespace-nowrap`}>
        {token.lastUsed ? <RelativeTime value={token.lastUsed} now={now} /> : <span className="muted">Never</span>}
      </td>
      <td className={`${td} text-right`}>
        <button
          type="button"
          className="btn-ghost p-2 text-red-700 hover:bg-red-50 dark:text-red-400 dark:hover:bg-red-500/10"
          aria-label={`Revoke ${token.sub}`}
          title="Revoke"
          onClick={() => onRevoke(token)}
        >
          <Trash2 aria-hidden="true" className="size-4" />
        </button>
      </td>
    </tr>
  )
})
