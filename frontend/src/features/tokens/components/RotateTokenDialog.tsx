import { useState } from 'react'
import { RefreshCw } from 'lucide-react'
import { ConfirmDialog } from '../../../components/ui/ConfirmDialog'
import { Detail } from '../../../components/ui/Details'
import { Dialog } from '../../../components/ui/Dialog'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { SelectField } from '../../../components/ui/SelectField'
import { exactTime } from '../../../lib/time'
import { DEFAULT_GRACE_PERIOD, GRACE_PERIODS, rotateToken, type RotatedToken, type ServiceToken } from '../api/tokens'
import { TokenReveal } from './TokenReveal'
import { TokenSummary } from './TokenSummary'

interface RotateTokenDialogProps {
  token: ServiceToken
  onClose: () => void
  /** Called once the successor exists, with its id only: its value never leaves this dialog. */
  onRotated: (rotated: { tokenId: string; replaces: string; subject: string }) => void
}

/**
 * Rotates a token: asks for the grace period, during which the old token keeps working, then
 * shows the successor's value once, as creation does. The value lives only in this dialog.
 * A token rotated already is refused (409, naming its successor), and nothing changes.
 */
export function RotateTokenDialog({ token, onClose, onRotated }: RotateTokenDialogProps) {
  const [grace, setGrace] = useState<string>(DEFAULT_GRACE_PERIOD)
  const [rotated, setRotated] = useState<RotatedToken | null>(null)

  if (rotated) {
    return (
      <Dialog title="Service token rotated" onClose={onClose} size="lg">
        <TokenReveal value={rotated.accessToken} onDone={onClose}>
          <p>
            The new token for <strong className="break-all">{token.sub}</strong> has the old one’s scopes and
            description. It expires <RelativeTime value={rotated.expires} />.
          </p>
          <p>
            The old token keeps working until <strong>{exactTime(rotated.replacedTokenEnds)}</strong> (
            <RelativeTime value={rotated.replacedTokenEnds} />
            ): put the new one wherever it is used before then.
          </p>
        </TokenReveal>
      </Dialog>
    )
  }

  return (
    <ConfirmDialog
      title="Rotate service token"
      size="lg"
      onClose={onClose}
      onConfirm={async () => {
        const successor = await rotateToken(token.tokenId, grace)
        setRotated(successor)
        onRotated({ tokenId: successor.tokenId, replaces: successor.replaces, subject: token.sub })
      }}
      icon={RefreshCw}
      confirmLabel="Rotate token"
      busyLabel="Rotating…"
      tone="primary"
      failure="The token was not rotated"
    >
      <TokenSummary token={token}>
        <Detail label="Expires">
          <RelativeTime value={token.expires} />
        </Detail>
      </TokenSummary>
      <p>
        Rotating issues a new token with the same service user, scopes, description and lifetime. The old token keeps
        working for the grace period, so the systems that use it can change over without a failed call; then it stops
        on its own.
      </p>
      <div className="space-y-1">
        <SelectField label="Grace period" value={grace} onChange={setGrace} options={GRACE_PERIODS} />
        <p className="muted text-xs">A grace period never reaches past the old token’s own expiry.</p>
      </div>
    </ConfirmDialog>
  )
}
