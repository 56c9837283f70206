import { useCallback, useState } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { Bot, Plus } from 'lucide-react'
import { useNavigate } from 'react-router'
import { PageHeader } from '../../../components/layout/PageHeader'
import { EmptyState } from '../../../components/ui/EmptyState'
import { Notice } from '../../../components/ui/Notice'
import { PagedList } from '../../../components/ui/PagedList'
import { SearchField } from '../../../components/ui/SearchField'
import { useHandedNotice, type NoticeState } from '../../../lib/useHandedNotice'
import { useNow } from '../../../lib/useNow'
import { useUrlFilter } from '../../../lib/useSearchParam'
import { refreshServiceUsers, useServiceUsers, type ServiceUser } from '../api/serviceUsers'
import { ServiceUserDialogs, type ServiceUserAction } from './ServiceUserDialogs'
import { ServiceUserFormDialog } from './ServiceUserFormDialog'
import { ServiceUsersTable } from './ServiceUsersTable'

/** Admin > Service Users: the identities tokens belong to; create, edit, disable/enable, delete. */
export function ServiceUsersPage() {
  const filter = useUrlFilter('name')
  const name = filter.applied
  const [creating, setCreating] = useState(false)
  const [acting, setActing] = useState<{ user: ServiceUser; action: ServiceUserAction } | null>(null)
  const [notice, setNotice] = useHandedNotice()
  const navigate = useNavigate()
  const queryClient = useQueryClient()
  const now = useNow()

  const query = useServiceUsers(name)
  const onAction = useCallback((user: ServiceUser, action: ServiceUserAction) => setActing({ user, action }), [])
  const createButton = (
    <button type="button" className="btn-primary" onClick={() => setCreating(true)}>
      <Plus aria-hidden="true" className="size-4" />
      Create Service User
    </button>
  )

  return (
    <>
      <PageHeader
        title="Service Users"
        breadcrumbs={[{ label: 'Admin', to: '/admin' }, { label: 'Service Users' }]}
        description={
          <p>
            A service user is an identity made for automation, not a person: a CI pipeline, an exporter. Every service
            token belongs to one. Its role (scopes) and workloads decide what all its tokens may do, as they are at each
            call, so a change or a disable reaches every one of them at once.
          </p>
        }
        actions={createButton}
      />

      <Notice message={notice} />

      <SearchField
        className="mb-4 max-w-md space-y-1"
        label="Filter by name"
        value={filter.text}
        onChange={filter.setText}
        placeholder="Name contains…"
      />

      <PagedList
        query={query}
        loading="Loading service users…"
        failed="Could not load the service users"
        noun={['service user', 'service users']}
        empty={
          <EmptyState icon={Bot}>
            {name ? (
              <p className="font-medium">No service user's name contains “{name}”.</p>
            ) : (
              <>
                <p className="font-medium">No service users</p>
                <p className="muted text-sm">Create one for each pipeline or application that calls the API.</p>
                {createButton}
              </>
            )}
          </EmptyState>
        }
      >
        {(users) => <ServiceUsersTable users={users} now={now} onAction={onAction} />}
      </PagedList>

      {creating && (
        <ServiceUserFormDialog
          onClose={() => setCreating(false)}
          onSaved={(user) => {
            refreshServiceUsers(queryClient)
            void navigate(`/admin/service-users/${user.id}`, {
              state: { notice: `Created the service user “${user.name}”. Issue its tokens here.` } satisfies NoticeState,
            })
          }}
        />
      )}
      {acting && (
        <ServiceUserDialogs
          user={acting.user}
          action={acting.action}
          onClose={() => setActing(null)}
          onDone={(message) => {
            setActing(null)
            setNotice(message)
            refreshServiceUsers(queryClient)
          }}
        />
      )}
    </>
  )
}
