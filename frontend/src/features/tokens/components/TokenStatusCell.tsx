import { AlertTriangle } from 'lucide-react'
import { Badge } from '../../../components/ui/Badge'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { timeLeft } from '../../../lib/time'
import type { ServiceToken } from '../api/tokens'

/** Whether a rotated token still works: its grace period has not ended. */
export function inGrace(token: Pick<ServiceToken, 'status' | 'ends'>, now: Date): boolean {
  return token.status === 'rotated' && Date.parse(token.ends) > now.getTime()
}

const chips = {
  active: { tone: 'success', label: 'Active' },
  rotated: { tone: 'info', label: 'Rotated' },
  expired: { tone: 'neutral', label: 'Expired' },
  revoked: { tone: 'danger', label: 'Revoked' },
} as const

/**
 * A token's status as a chip, and for one that ended (or is ending) who ended it, when and why:
 * "replaced — stops working in 23 h", "revoked 2 hours ago by ada@example.com: leaked", and
 * whether it is still presented.
 */
export function TokenStatusCell({ token, now }: { token: ServiceToken; now: Date }) {
  const chip = inGrace(token, now) ? { tone: 'warning', label: 'Replaced' } as const : chips[token.status]
  return (
    <div className="flex flex-col items-start gap-1">
      <span className="flex flex-wrap gap-1">
        <Badge tone={chip.tone}>{chip.label}</Badge>
        {token.status === 'active' && token.stale && (
          <span title="Not used for STALE_AFTER (90 days unless configured otherwise): review it, and revoke it if nothing needs it">
            <Badge tone="warning">Stale</Badge>
          </span>
        )}
      </span>
      <Ending token={token} now={now} />
      {token.status !== 'active' && token.stillPresented && <StillPresented {...token.stillPresented} now={now} />}
    </div>
  )
}

/**
 * An ended token that something still sends, refused each time: "Still presented 37 times,
 * last from 10.0.4.2, 2 minutes ago" — the job nobody remembered.
 */
export function StillPresented({ times, lastSeen, lastAddress, now }: NonNullable<ServiceToken['stillPresented']> & { now: Date }) {
  return (
    <span className="flex items-start gap-1 text-xs font-medium whitespace-normal text-amber-800 dark:text-amber-300">
      <AlertTriangle aria-hidden="true" className="mt-px size-3.5 shrink-0" />
      <span>
        Still presented {times.toLocaleString('en')} {times === 1 ? 'time' : 'times'}, last from{' '}
        <span className="font-mono break-all">{lastAddress}</span>, <RelativeTime value={lastSeen} now={now} />
      </span>
    </span>
  )
}

function Ending({ token, now }: { token: ServiceToken; now: Date }) {
  const detail = 'muted text-xs wrap-anywhere whitespace-normal'
  switch (token.status) {
    case 'active':
      return null
    case 'rotated':
      return inGrace(token, now) ? (
        <span className="text-xs font-medium whitespace-normal">replaced — stops working in {timeLeft(token.ends)}</span>
      ) : (
        <span className={detail}>
          replaced, stopped <RelativeTime value={token.ends} now={now} />
          {token.replacedBy && <span className="block font-mono">by {token.replacedBy}</span>}
        </span>
      )
    case 'expired':
      return (
        <span className={detail}>
          expired <RelativeTime value={token.ends} now={now} />
        </span>
      )
    case 'revoked':
      return (
        <span className={detail}>
          revoked <RelativeTime value={token.revoked ?? token.ends} now={now} />
          {token.revokedBy && <> by {token.revokedBy}</>}
          {token.revocationReason && <span className="block">“{token.revocationReason}”</span>}
        </span>
      )
  }
}
