import { memo } from 'react'
import { RefreshCw, Trash2 } from 'lucide-react'
import { Link } from 'react-router'
import { DataTable, LastUsed, denseCell as cell } from '../../../components/ui/DataTable'
import { IconButton } from '../../../components/ui/IconButton'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { Sparkline } from '../../../components/ui/Sparkline'
import { expiryStatus } from '../../../lib/time'
import { requestsLabel, tokenPath, type ServiceToken } from '../api/tokens'
import { ExpiryBadge } from './ExpiryBadge'
import { TokenStatusCell, inGrace } from './TokenStatusCell'
import type { TokenAction } from './useTokenActions'

interface TokensTableProps {
  tokens: ServiceToken[]
  now: Date
  onAction: (token: ServiceToken, action: TokenAction) => void
  /** Link each subject to its service user's page (off on that page itself). */
  linkSubjects?: boolean
  /** Read by screen readers: which tokens these are. */
  caption?: string
  /** With onSelect, a checkbox on each token that can be revoked, for revoking many at once. */
  selected?: { has: (tokenId: string) => boolean }
  onSelect?: (token: ServiceToken, selected: boolean) => void
}

const columns = [
  'Subject',
  'Description',
  'Status',
  'Created',
  'Expires',
  'Created By',
  'Last Used',
  'Usage (30 days)',
  { label: 'Actions', align: 'right' },
] as const

/**
 * Tokens with their status; active ones expiring within 30 days are highlighted. An active
 * token can be rotated and revoked; a replaced one, still in its grace period, revoked (which
 * ends the grace early); an ended one is history, highlighted when it is still presented.
 * Each row's usage sparkline links to the token's page.
 */
export function TokensTable({
  tokens,
  now,
  onAction,
  linkSubjects = true,
  caption = 'Active service tokens',
  selected,
  onSelect,
}: TokensTableProps) {
  return (
    <DataTable caption={caption} columns={columns} dense>
      {tokens.map((token) => (
        <TokenRow
          key={token.tokenId}
          token={token}
          now={now}
          onAction={onAction}
          linkSubjects={linkSubjects}
          isSelected={selected?.has(token.tokenId) ?? false}
          onSelect={onSelect}
        />
      ))}
    </DataTable>
  )
}

const TokenRow = memo(function TokenRow({
  token,
  now,
  onAction,
  linkSubjects,
  isSelected,
  onSelect,
}: { token: ServiceToken; isSelected: boolean } & Required<Omit<TokensTableProps, 'tokens' | 'caption' | 'selected' | 'onSelect'>> &
  Pick<TokensTableProps, 'onSelect'>) {
  const active = token.status === 'active'
  const soon = active && expiryStatus(token.expires, now) !== 'ok'
  const replaced = inGrace(token, now)
  const warn = soon || replaced || (!active && token.stillPresented !== null)
  return (
    <tr
      data-token-id={token.tokenId}
      className={
        warn ? 'bg-amber-50 dark:bg-amber-400/10' : active ? 'hover:bg-slate-50 dark:hover:bg-slate-800/50' : 'bg-slate-50 dark:bg-slate-800/40'
      }
    >
      <th scope="row" className={`${cell} max-w-xs text-left font-medium`}>
        {onSelect && (active || replaced) && (
          <input
            type="checkbox"
            className="mr-2 align-middle"
            aria-label={`Select ${token.sub}`}
            checked={isSelected}
            onChange={(e) => onSelect(token, e.target.checked)}
          />
        )}
        {linkSubjects ? (
          <Link className="link break-all" to={`/admin/service-users/${token.serviceUserId}`}>
            {token.sub}
          </Link>
        ) : (
          <span className="break-all">{token.sub}</span>
        )}
        <span className="muted block font-mono text-xs font-normal">{token.scopes.join(' ')}</span>
      </th>
      <td className={`${cell} max-w-xs break-words`}>{token.description || <span className="muted">—</span>}</td>
      <td className={`${cell} min-w-36 max-w-56`}>
        <TokenStatusCell token={token} now={now} />
      </td>
      <td className={`${cell} whitespace-nowrap`}>
        <RelativeTime value={token.created} now={now} />
      </td>
      <td className={`${cell} whitespace-nowrap`}>
        <div className="flex flex-col items-start gap-1">
          <RelativeTime value={token.expires} now={now} />
          {active && <ExpiryBadge expires={token.expires} now={now} />}
        </div>
      </td>
      <td className={`${cell} break-all`}>{token.createdBy}</td>
      <td className={`${cell} whitespace-nowrap`}>
        <LastUsed value={token.lastUsed} now={now} />
        {token.lastUsed && token.lastUsedAddress && (
          <span className="muted block font-mono text-xs break-all whitespace-normal">{token.lastUsedAddress}</span>
        )}
      </td>
      <td className={`${cell} whitespace-nowrap`}>
        <Link className="link inline-flex flex-col items-start gap-1 tabular-nums" to={tokenPath(token.tokenId)}>
          <Sparkline values={token.dailyRequests30d} label={requestsLabel(token.requests30d)} width={48} height={18} />
          <span aria-hidden="true" className="text-xs">
            {token.requests30d.toLocaleString('en')}
          </span>
        </Link>
      </td>
      <td className={`${cell} text-right whitespace-nowrap`}>
        {active && (
          <IconButton icon={RefreshCw} label={`Rotate ${token.sub}`} title="Rotate" onClick={() => onAction(token, 'rotate')} />
        )}
        {(active || replaced) && (
          <IconButton icon={Trash2} label={`Revoke ${token.sub}`} title="Revoke" onClick={() => onAction(token, 'revoke')} danger />
        )}
      </td>
    </tr>
  )
})
