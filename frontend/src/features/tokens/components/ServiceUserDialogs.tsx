import { fetchTokenCount, type ServiceUser } from '../api/serviceUsers'
import { DeleteServiceUserDialog } from './DeleteServiceUserDialog'
import { ServiceUserFormDialog } from './ServiceUserFormDialog'
import { ServiceUserStatusDialog } from './ServiceUserStatusDialog'

/** What can be done to a service user from its row or its page. */
export type ServiceUserAction = 'edit' | 'toggle' | 'delete'

interface ServiceUserDialogsProps {
  user: ServiceUser
  action: ServiceUserAction
  onClose: () => void
  /** Called once it is done, with the notice that says what was done. */
  onDone: (notice: string, action: ServiceUserAction) => void
}

/** The dialog of one action on a service user: edit, disable or enable, delete. */
export function ServiceUserDialogs({ user, action, onClose, onDone }: ServiceUserDialogsProps) {
  switch (action) {
    case 'edit':
      return (
        <ServiceUserFormDialog
          user={user}
          onClose={onClose}
          onSaved={(saved) => onDone(`Saved the service user “${saved.name}”: its tokens follow at once.`, action)}
        />
      )
    case 'toggle':
      return (
        <ServiceUserStatusDialog
          user={user}
          onClose={onClose}
          onChanged={(saved) =>
            onDone(
              saved.disabled
                ? `Disabled the service user “${saved.name}”: its tokens get 403 Forbidden until it is enabled again.`
                : `Enabled the service user “${saved.name}”: its tokens work again.`,
              action,
            )
          }
        />
      )
    case 'delete':
      return (
        <DeleteServiceUserDialog
          user={user}
          onClose={onClose}
          recount={() => fetchTokenCount(user.id)}
          onDeleted={(deleted, revoked) =>
            onDone(
              `Deleted the service user “${deleted.name}”${revoked > 0 ? ` and revoked its ${revoked === 1 ? 'token' : `${revoked} tokens`}` : ''}.`,
              action,
            )
          }
        />
      )
  }
}
