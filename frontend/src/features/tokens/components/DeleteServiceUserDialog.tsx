import { useState } from 'react'
import { Trash2 } from 'lucide-react'
import { Alert } from '../../../components/ui/Alert'
import { ConfirmDialog } from '../../../components/ui/ConfirmDialog'
import { ApiError } from '../../../lib/api'
import { deleteServiceUser, type ServiceUser } from '../api/serviceUsers'

interface DeleteServiceUserDialogProps {
  user: Pick<ServiceUser, 'id' | 'name' | 'tokenCount'>
  onClose: () => void
  /** Called once it is deleted (or turned out to be gone already), with how many tokens went with it. */
  onDeleted: (user: Pick<ServiceUser, 'id' | 'name'>, revokedTokens: number) => void
  /** Reads its active token count again (after a 409: a token was issued meanwhile). */
  recount: () => Promise<number>
}

/**
 * Deletes a service user. While it has active tokens the server refuses (409
 * service_user_has_tokens); the dialog then offers to revoke them with it, saying how many.
 */
export function DeleteServiceUserDialog({ user, onClose, onDeleted, recount }: DeleteServiceUserDialogProps) {
  const [tokens, setTokens] = useState(user.tokenCount)

  async function confirm() {
    try {
      await deleteServiceUser(user.id, tokens > 0)
      onDeleted(user, tokens)
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        onDeleted(user, 0)
        return
      }
      if (err instanceof ApiError && err.code === 'service_user_has_tokens') {
        // Tokens were issued since the count was read: say how many, and ask again.
        setTokens(await recount().catch(() => Math.max(1, tokens)))
      }
      throw err
    }
  }

  return (
    <ConfirmDialog
      title={`Delete service user ${user.name}`}
      size="lg"
      onClose={onClose}
      onConfirm={confirm}
      icon={Trash2}
      confirmLabel={tokens === 0 ? 'Delete service user' : `Revoke its ${tokens === 1 ? 'token' : `${tokens} tokens`} and delete`}
      busyLabel="Deleting…"
      failure="The service user was not deleted"
    >
      <Alert tone="warning" title="This action cannot be undone">
        <p>
          The service user <strong className="break-all">{user.name}</strong> goes for good. Its runs stay, still naming
          it; its name can be given to a new service user.
        </p>
      </Alert>
      {tokens === 0 ? (
        <p>It has no active token, so no system is known to depend on it.</p>
      ) : (
        <div className="space-y-1">
          <h3 className="font-medium">Impact on dependent systems</h3>
          <p>
            It has {tokens === 1 ? 'an active token' : `${tokens} active tokens`}. Deleting it revokes{' '}
            {tokens === 1 ? 'it' : 'them'} with it: every call made with {tokens === 1 ? 'it' : 'them'} gets{' '}
            <code className="font-mono">401 Unauthorized</code> from now on, on every instance.
          </p>
        </div>
      )}
    </ConfirmDialog>
  )
}
