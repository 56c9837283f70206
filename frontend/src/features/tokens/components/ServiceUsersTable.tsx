import { memo } from 'react'
import { Pencil, Power, PowerOff, Trash2 } from 'lucide-react'
import { Link } from 'react-router'
import { DataTable, LastUsed, cell } from '../../../components/ui/DataTable'
import { IconButton } from '../../../components/ui/IconButton'
import { describeWorkloads, type ServiceUser } from '../api/serviceUsers'
import { ServiceUserBadges } from './ServiceUserBadges'
import type { ServiceUserAction } from './ServiceUserDialogs'

interface ServiceUsersTableProps {
  users: ServiceUser[]
  now: Date
  onAction: (user: ServiceUser, action: ServiceUserAction) => void
}

const columns = ['Name', 'Role', 'Workloads', 'Tokens', 'Last Used', { label: 'Actions', align: 'right' }] as const

/** The service users, by name: what each may do, how many tokens act as it, when one was last used. */
export function ServiceUsersTable({ users, now, onAction }: ServiceUsersTableProps) {
  return (
    <DataTable caption="Service users" columns={columns}>
      {users.map((user) => (
        <ServiceUserRow key={user.id} user={user} now={now} onAction={onAction} />
      ))}
    </DataTable>
  )
}

const ServiceUserRow = memo(function ServiceUserRow({ user, now, onAction }: { user: ServiceUser } & Omit<ServiceUsersTableProps, 'users'>) {
  const toggle = user.disabled ? 'Enable' : 'Disable'
  return (
    <tr
      data-service-user-id={user.id}
      className={user.disabled ? 'bg-slate-50 dark:bg-slate-800/40' : 'hover:bg-slate-50 dark:hover:bg-slate-800/50'}
    >
      <th scope="row" className={`${cell} max-w-xs text-left font-medium`}>
        <Link className="link break-all" to={`/admin/service-users/${user.id}`}>
          {user.name}
        </Link>
        {user.description && <span className="muted block text-xs font-normal break-words">{user.description}</span>}
        <span className="mt-1 block">
          <ServiceUserBadges user={user} />
        </span>
      </th>
      <td className={`${cell} font-mono text-xs`}>{user.scopes.join(' ')}</td>
      <td className={`${cell} max-w-xs font-mono text-xs break-all`}>{describeWorkloads(user.workloads)}</td>
      <td className={`${cell} tabular-nums`}>{user.tokenCount.toLocaleString('en')}</td>
      <td className={`${cell} whitespace-nowrap`}>
        <LastUsed value={user.lastUsed} now={now} />
      </td>
      <td className={`${cell} text-right whitespace-nowrap`}>
        <IconButton icon={Pencil} label={`Edit ${user.name}`} title="Edit" onClick={() => onAction(user, 'edit')} />
        <IconButton
          icon={user.disabled ? Power : PowerOff}
          label={`${toggle} ${user.name}`}
          title={toggle}
          onClick={() => onAction(user, 'toggle')}
        />
        <IconButton icon={Trash2} label={`Delete ${user.name}`} title="Delete" onClick={() => onAction(user, 'delete')} danger />
      </td>
    </tr>
  )
})
