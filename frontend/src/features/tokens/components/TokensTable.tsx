import { memo } from 'react'
import { Trash2 } from 'lucide-react'
import { Link } from 'react-router'
import { DataTable, LastUsed, cell } from '../../../components/ui/DataTable'
import { IconButton } from '../../../components/ui/IconButton'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { expiryStatus } from '../../../lib/time'
import type { ServiceToken } from '../api/tokens'
import { ExpiryBadge } from './ExpiryBadge'
import type { TokenAction } from './useTokenActions'

interface TokensTableProps {
  tokens: ServiceToken[]
  now: Date
  onAction: (token: ServiceToken, action: TokenAction) => void
  /** Link each subject to its service user's page (off on that page itself). */
  linkSubjects?: boolean
}

const columns = ['Subject', 'Created', 'Expires', 'Created By', 'Last Used', { label: 'Actions', align: 'right' }] as const

/** The active tokens; rows expiring within 30 days are highlighted. */
export function TokensTable({ tokens, now, onAction, linkSubjects = true }: TokensTableProps) {
  return (
    <DataTable caption="Active service tokens" columns={columns}>
      {tokens.map((token) => (
        <TokenRow key={token.tokenId} token={token} now={now} onAction={onAction} linkSubjects={linkSubjects} />
      ))}
    </DataTable>
  )
}

const TokenRow = memo(function TokenRow({
  token,
  now,
  onAction,
  linkSubjects,
}: { token: ServiceToken } & Required<Omit<TokensTableProps, 'tokens'>>) {
  const soon = expiryStatus(token.expires, now) !== 'ok'
  return (
    <tr
      data-token-id={token.tokenId}
      className={soon ? 'bg-amber-50 dark:bg-amber-400/10' : 'hover:bg-slate-50 dark:hover:bg-slate-800/50'}
    >
      <th scope="row" className={`${cell} max-w-xs text-left font-medium`}>
        {linkSubjects ? (
          <Link className="link break-all" to={`/admin/service-users/${token.serviceUserId}`}>
            {token.sub}
          </Link>
        ) : (
          <span className="break-all">{token.sub}</span>
        )}
        <span className="muted block font-mono text-xs font-normal">{token.scopes.join(' ')}</span>
      </th>
      <td className={`${cell} whitespace-nowrap`}>
        <RelativeTime value={token.created} now={now} />
      </td>
      <td className={`${cell} whitespace-nowrap`}>
        <div className="flex flex-col items-start gap-1">
          <RelativeTime value={token.expires} now={now} />
          <ExpiryBadge expires={token.expires} now={now} />
        </div>
      </td>
      <td className={`${cell} break-all`}>{token.createdBy}</td>
      <td className={`${cell} whitespace-nowrap`}>
        <LastUsed value={token.lastUsed} now={now} />
      </td>
      <td className={`${cell} text-right`}>
        <IconButton icon={Trash2} label={`Revoke ${token.sub}`} title="Revoke" onClick={() => onAction(token, 'revoke')} danger />
      </td>
    </tr>
  )
})
