import { useState } from 'react'
import { Trash2 } from 'lucide-react'
import { Alert } from '../../../components/ui/Alert'
import { Dialog } from '../../../components/ui/Dialog'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { ApiError, errorMessage } from '../../../lib/api'
import { revokeToken, type ServiceToken } from '../api/tokens'

interface RevokeTokenDialogProps {
  token: ServiceToken
  onClose: () => void
  /** Called once the token is revoked (or turned out to be gone already). */
  onRevoked: (token: ServiceToken) => void
}

/** Confirms a revocation: what the token is, and what stops working when it goes. */
export function RevokeTokenDialog({ token, onClose, onRevoked }: RevokeTokenDialogProps) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()

  async function confirm() {
    setBusy(true)
    setError(undefined)
    try {
      await revokeToken(token.tokenId)
      onRevoked(token)
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        onRevoked(token)
        return
      }
      setError(errorMessage(err))
      setBusy(false)
    }
  }

  return (
    <Dialog title="Revoke service token" onClose={onClose} busy={busy} size="lg">
      <div className="space-y-5">
        <dl className="grid grid-cols-[auto_1fr] gap-x-6 gap-y-2 text-sm">
          <dt className="muted">Subject</dt>
          <dd className="font-medium break-all">{token.sub}</dd>
          <dt className="muted">Token ID</dt>
          <dd className="font-mono text-xs break-all">{token.tokenId}</dd>
          <dt className="muted">Created</dt>
          <dd>
            <RelativeTime value={token.created} />
          </dd>
          <dt className="muted">Expires</dt>
          <dd>
            <RelativeTime value={token.expires} />
          </dd>
          <dt className="muted">Created by</dt>
          <dd className="break-all">{token.createdBy}</dd>
          <dt className="muted">Last used</dt>
          <dd>{token.lastUsed ? <RelativeTime value={token.lastUsed} /> : 'Never'}</dd>
          <dt className="muted">Scopes</dt>
          <dd className="font-mono text-xs">{token.scopes.join(', ') || '—'}</dd>
        </dl>

        <Alert tone="error" title="Revocation is immediate and cannot be undone">
          <p>
            Revoking this token immediately terminates access for any applications or systems using it. This action
            cannot be undone: a replacement needs a new token, configured wherever this one was used.
          </p>
        </Alert>

        <div className="space-y-1 text-sm">
          <h3 className="font-medium">Impact on dependent systems</h3>
          {token.lastUsed ? (
            <p>
              This token was last used <RelativeTime value={token.lastUsed} />, so something probably still depends
              on it. From now on every call it makes will get <code className="font-mono">401 Unauthorized</code>.
            </p>
          ) : (
            <p>
              This token has never been used, so no system is known to depend on it. Any call made with it from now
              on will get <code className="font-mono">401 Unauthorized</code>.
            </p>
          )}
        </div>

        {error && (
          <Alert tone="error" role="alert" title="The token was not revoked">
            <p>{error}</p>
          </Alert>
        )}

        <div className="flex justify-end gap-2 border-t border-slate-200 pt-4 dark:border-slate-700">
          <button type="button" className="btn-secondary" data-autofocus onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="button" className="btn-danger" onClick={() => void confirm()} disabled={busy}>
            <Trash2 aria-hidden="true" className="size-4" />
            {busy ? 'Revoking…' : 'Revoke token'}
          </button>
        </div>
      </div>
    </Dialog>
  )
}
