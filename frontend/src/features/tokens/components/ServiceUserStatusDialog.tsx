import { Power, PowerOff } from 'lucide-react'
import { Alert } from '../../../components/ui/Alert'
import { ConfirmDialog } from '../../../components/ui/ConfirmDialog'
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
  const disabling = !user.disabled
  const tokens = tokenCount(user.tokenCount)

  return (
    <ConfirmDialog
      title={`${disabling ? 'Disable' : 'Enable'} service user ${user.name}`}
      onClose={onClose}
      onConfirm={async () => onChanged(await updateServiceUser(user.id, { disabled: disabling }))}
      icon={disabling ? PowerOff : Power}
      confirmLabel={disabling ? 'Disable service user' : 'Enable service user'}
      busyLabel="Saving…"
      tone={disabling ? 'danger' : 'primary'}
      failure={`The service user was not ${disabling ? 'disabled' : 'enabled'}`}
    >
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
          <strong className="break-all">{user.name}</strong> has {tokens}. Once it is enabled,{' '}
          {user.tokenCount === 1 ? 'it works' : 'they work'} again at once, with its scopes and workloads as they are
          now, and new tokens can be issued for it.
        </p>
      )}
    </ConfirmDialog>
  )
}
