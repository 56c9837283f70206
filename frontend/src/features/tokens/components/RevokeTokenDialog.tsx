import { useState } from 'react'
import { Trash2 } from 'lucide-react'
import { Alert } from '../../../components/ui/Alert'
import { ConfirmDialog } from '../../../components/ui/ConfirmDialog'
import { Detail } from '../../../components/ui/Details'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { goneAlready } from '../../../lib/api'
import { exactTime } from '../../../lib/time'
import { revokeToken, type ServiceToken } from '../api/tokens'
import { TokenSummary } from './TokenSummary'
import { RevocationReasonField } from './RevocationReasonField'


interface RevokeTokenDialogProps {
  token: ServiceToken
  onClose: () => void
  /** Called once the token is revoked (or turned out to be gone already). */
  onRevoked: (token: ServiceToken) => void
}

/** Confirms a revocation: what the token is, and what stops working when it goes. */
export function RevokeTokenDialog({ token, onClose, onRevoked }: RevokeTokenDialogProps) {
  const [reason, setReason] = useState('')
  const replaced = token.status === 'rotated'
  return (
    <ConfirmDialog
      title="Revoke service token"
      size="lg"
      onClose={onClose}
      onConfirm={async () => {
        await revokeToken(token.tokenId, reason.trim()).catch(goneAlready)
        onRevoked(token)
      }}
      icon={Trash2}
      confirmLabel="Revoke token"
      busyLabel="Revoking…"
      failure="The token was not revoked"
    >
      <TokenSummary token={token}>
        <Detail label="Created">
          <RelativeTime value={token.created} />
        </Detail>
        <Detail label="Expires">
          <RelativeTime value={token.expires} />
        </Detail>
        <Detail label="Created by" className="break-all">
          {token.createdBy}
        </Detail>
        <Detail label="Last used">{token.lastUsed ? <RelativeTime value={token.lastUsed} /> : 'Never'}</Detail>
        <Detail label="Scopes" className="font-mono text-xs">
          {token.scopes.join(', ') || '—'}
        </Detail>
      </TokenSummary>

      <Alert tone="error" title="Revocation is immediate and cannot be undone">
        <p>
          Revoking this token immediately terminates access for any applications or systems using it. This action
          cannot be undone: a replacement needs a new token, configured wherever this one was used.
        </p>
      </Alert>

      <div className="space-y-1">
        <h3 className="font-medium">Impact on dependent systems</h3>
        {token.lastUsed ? (
          <p>
            This token was last used <RelativeTime value={token.lastUsed} />, so something probably still depends on
            it. From now on every call it makes will get <code className="font-mono">401 Unauthorized</code>.
          </p>
        ) : (
          <p>
            This token has never been used, so no system is known to depend on it. Any call made with it from now on
            will get <code className="font-mono">401 Unauthorized</code>.
          </p>
        )}
      </div>

      {replaced && (
        <Alert tone="info">
          <p>
            It was rotated and would keep working until {exactTime(token.ends)}: revoking it ends that grace period
            now. Its successor is not affected.
          </p>
        </Alert>
      )}

      <RevocationReasonField value={reason} onChange={setReason} />
    </ConfirmDialog>
  )
}
