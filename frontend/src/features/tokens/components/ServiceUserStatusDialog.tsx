import { useState } from 'react'
import { Power, PowerOff } from 'lucide-react'
import { Alert } from '../../../components/ui/Alert'
import { Dialog } from '../../../components/ui/Dialog'
import { errorMessage } from '../../../lib/api'
import { tokenCount, updateServiceUser, type ServiceUser } from '../api/serviceUsers'

interface ServiceUserStatusDialogProps {
  user: ServiceUser
  onClose: () => void
  onChanged: (user: ServiceUser) => void
}

/**
 * Disables a service user (its tokens are refused, not revoked) or enables it again (they work
 * again): says which, to how many tokens, before it is done.
 */
export function ServiceUserStatusDialog({ user, onClose, onChanged }: ServiceUserStatusDialogProps) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()
  const disabling = !user.disabled
  const tokens = tokenCount(user.tokenCount)

  async function confirm() {
    setBusy(true)
    setError(undefined)
    try {
      onChanged(await updateServiceUser(user.id, { disabled: disabling }))
    } catch (err) {
      setError(errorMessage(err))
      setBusy(false)
    }
  }

  return (
    <Dialog title={`${disabling ? 'Disable' : 'Enable'} service user ${user.name}`} onClose={onClose} busy={busy}>
      <div className="space-y-4 text-sm">
        {disabling ? (
          <>
            <p>
              <strong className="break-all">{user.name}</strong> has {tokens}. Once it is disabled, every call made with
              its tokens gets <code className="font-mono">403 Forbidden</code> (
              <code className="font-mono">service_user_disabled</code>), at once on every instance, and no new token can
              be issued for it.
            </p>
            <Alert tone="info">
              <p>
                Its tokens are not revoked: enabling the service user again restores them as they were. To cut them off
                for good, revoke them instead.
              </p>
            </Alert>
          </>
        ) : (
          <p>
            <strong className="break-all">{user.name}</strong> has {tokens}. Once it is enabled, {user.tokenCount === 1 ? 'it works' : 'they work'}{' '}
            again at once, with its scopes and workloads as they are now, and new tokens can be issued for it.
          </p>
        )}

        {error && (
          <Alert tone="error" role="alert" title={`The service user was not ${disabling ? 'disabled' : 'enabled'}`}>
            <p>{error}</p>
          </Alert>
        )}

        <div className="flex justify-end gap-2 border-t border-slate-200 pt-4 dark:border-slate-700">
          <button type="button" className="btn-secondary" data-autofocus onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button
            type="button"
            className={disabling ? 'btn-danger' : 'btn-primary'}
            onClick={() => void confirm()}
            disabled={busy}
          >
            {disabling ? <PowerOff aria-hidden="true" className="size-4" /> : <Power aria-hidden="true" className="size-4" />}
            {busy ? 'Saving…' : disabling ? 'Disable service user' : 'Enable service user'}
          </button>
        </div>
      </div>
    </Dialog>
  )
}
