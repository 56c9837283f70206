import { memo } from 'react'
import { Pencil, Power, PowerOff, Trash2 } from 'lucide-react'
import { Link } from 'react-router'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { describeWorkloads, type ServiceUser } from '../api/serviceUsers'
import { ServiceUserBadges } from './ServiceUserBadges'

/** What can be done to a service user from its row. */
export type ServiceUserAction = 'edit' | 'toggle' | 'delete'

interface ServiceUsersTableProps {
  users: ServiceUser[]
  now: Date
  onAction: (user: ServiceUser, action: ServiceUserAction) => void
}

const th = 'px-4 py-3 text-left text-xs font-semibold tracking-wide text-slate-600 uppercase dark:text-slate-400'
const td = 'px-4 py-3 align-top text-sm'
const iconButton = 'btn-ghost p-2'

/** The service users, by name: what each may do, how many tokens act as it, when one was last used. */
export function ServiceUsersTable({ users, now, onAction }: ServiceUsersTableProps) {
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <table className="min-w-full divide-y divide-slate-200 dark:divide-slate-800">
        <caption className="sr-only">Service users</caption>
        <thead className="bg-slate-50 dark:bg-slate-900">
          <tr>
            <th scope="col" className={th}>
              Name
            </th>
            <th scope="col" className={th}>
              Role
            </th>
            <th scope="col" className={th}>
              Workloads
            </th>
            <th scope="col" className={th}>
              Tokens
            </th>
            <th scope="col" className={th}>
              Last Used
            </th>
            <th scope="col" className={`${th} text-right`}>
              Actions
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-200 dark:divide-slate-800">
          {users.map((user) => (
            <ServiceUserRow key={user.id} user={user} now={now} onAction={onAction} />
          ))}
        </tbody>
      </table>
    </div>
  )
}

const ServiceUserRow = memo(function ServiceUserRow({
  user,
  now,
  onAction,
}: {
  user: ServiceUser
  now: Date
  onAction: (user: ServiceUser, action: ServiceUserAction) => void
}) {
  return (
    <tr
      data-service-user-id={user.id}
      className={user.disabled ? 'bg-slate-50 dark:bg-slate-800/40' : 'hover:bg-slate-50 dark:hover:bg-slate-800/50'}
    >
      <th scope="row" className={`${td} max-w-xs text-left font-medium`}>
        <Link className="link break-all" to={`/admin/service-users/${user.id}`}>
          {user.name}
        </Link>
        {user.description && <span className="muted block text-xs font-normal break-words">{user.description}</span>}
        <span className="mt-1 block">
          <ServiceUserBadges user={user} />
        </span>
      </th>
      <td className={`${td} font-mono text-xs`}>{user.scopes.join(' ')}</td>
      <td className={`${td} max-w-xs font-mono text-xs break-all`}>{describeWorkloads(user.workloads)}</td>
      <td className={`${td} tabular-nums`}>{user.tokenCount.toLocaleString('en')}</td>
      <td className={`${td} whitespace-nowrap`}>
        {user.lastUsed ? <RelativeTime value={user.lastUsed} now={now} /> : <span className="muted">Never</span>}
      </td>
      <td className={`${td} text-right whitespace-nowrap`}>
        <button
          type="button"
          className={iconButton}
          aria-label={`Edit ${user.name}`}
          title="Edit"
          onClick={() => onAction(user, 'edit')}
        >
          <Pencil aria-hidden="true" className="size-4" />
        </button>
        <button
          type="button"
          className={iconButton}
          aria-label={`${user.disabled ? 'Enable' : 'Disable'} ${user.name}`}
          title={user.disabled ? 'Enable' : 'Disable'}
          onClick={() => onAction(user, 'toggle')}
        >
          {user.disabled ? (
            <Power aria-hidden="true" className="size-4" />
          ) : (
            <PowerOff aria-hidden="true" className="size-4" />
          )}
        </button>
        <button
          type="button"
          className={`${iconButton} text-red-700 hover:bg-red-50 dark:text-red-400 dark:hover:bg-red-500/10`}
          aria-label={`Delete ${user.name}`}
          title="Delete"
          onClick={() => onAction(user, 'delete')}
        >
          <Trash2 aria-hidden="true" className="size-4" />
        </button>
      </td>
    </tr>
  )
})
