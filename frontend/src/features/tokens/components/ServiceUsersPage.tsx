import { useCallback, useEffect, useId, useState } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { Bot, Plus, Search } from 'lucide-react'
import { useNavigate, useSearchParams } from 'react-router'
import { PageHeader } from '../../../components/layout/PageHeader'
import { Alert } from '../../../components/ui/Alert'
import { LoadError } from '../../../components/ui/LoadError'
import { LoadMoreButton } from '../../../components/ui/LoadMoreButton'
import { Spinner } from '../../../components/ui/Spinner'
import { useDebouncedValue } from '../../../lib/useDebouncedValue'
import { useHandedNotice, type NoticeState } from '../../../lib/useHandedNotice'
import { useNow } from '../../../lib/useNow'
import { fetchTokenCount, refreshServiceUsers, useServiceUsers, type ServiceUser } from '../api/serviceUsers'
import { DeleteServiceUserDialog } from './DeleteServiceUserDialog'
import { ServiceUserFormDialog } from './ServiceUserFormDialog'
import { ServiceUserStatusDialog } from './ServiceUserStatusDialog'
import { ServiceUsersTable, type ServiceUserAction } from './ServiceUsersTable'

/** Admin > Service Users: the identities tokens belong to; create, edit, disable/enable, delete. */
export function ServiceUsersPage() {
  const [params, setParams] = useSearchParams()
  const name = params.get('name') ?? ''
  const [filterText, setFilterText] = useState(name)
  const settled = useDebouncedValue(filterText.trim(), 250)
  const [creating, setCreating] = useState(false)
  const [acting, setActing] = useState<{ user: ServiceUser; action: ServiceUserAction } | null>(null)
  const [notice, setNotice] = useHandedNotice()
  const navigate = useNavigate()
  const queryClient = useQueryClient()
  const now = useNow()
  const filterId = useId()

  // The filter goes to the URL once typing pauses, without a request per keystroke.
  useEffect(() => {
    if (settled === name) return
    setParams(
      () => {
        const next = new URLSearchParams(window.location.search)
        if (settled) next.set('name', settled)
        else next.delete('name')
        return next
      },
      { replace: true },
    )
  }, [settled, name, setParams])

  const query = useServiceUsers(name)
  const users = query.data?.items ?? []
  const total = query.data?.total ?? users.length
  const onAction = useCallback((user: ServiceUser, action: ServiceUserAction) => setActing({ user, action }), [])
  const done = (message: string) => {
    setActing(null)
    setNotice(message)
    refreshServiceUsers(queryClient)
  }

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
        actions={
          <button type="button" className="btn-primary" onClick={() => setCreating(true)}>
            <Plus aria-hidden="true" className="size-4" />
            Create Service User
          </button>
        }
      />

      <div role="status" aria-live="polite" className="mb-4 empty:hidden">
        {notice && (
          <Alert tone="success">
            <p>{notice}</p>
          </Alert>
        )}
      </div>

      <div className="mb-4 max-w-md space-y-1">
        <label htmlFor={filterId} className="block text-sm font-medium">
          Filter by name
        </label>
        <div className="relative">
          <Search aria-hidden="true" className="muted pointer-events-none absolute top-2.5 left-3 size-4" />
          <input
            id={filterId}
            type="search"
            className="field-input pl-9"
            value={filterText}
            onChange={(e) => setFilterText(e.target.value)}
            placeholder="Name contains…"
            autoComplete="off"
          />
        </div>
      </div>

      {query.isPending ? (
        <Spinner label="Loading service users…" />
      ) : query.isError ? (
        <LoadError title="Could not load the service users" error={query.error} onRetry={() => void query.refetch()} />
      ) : users.length === 0 ? (
        <div className="card flex flex-col items-center gap-3 py-12 text-center">
          <Bot aria-hidden="true" className="muted size-8" />
          {name ? (
            <p className="font-medium">No service user's name contains “{name}”.</p>
          ) : (
            <>
              <p className="font-medium">No service users</p>
              <p className="muted text-sm">Create one for each pipeline or application that calls the API.</p>
              <button type="button" className="btn-primary" onClick={() => setCreating(true)}>
                <Plus aria-hidden="true" className="size-4" />
                Create Service User
              </button>
            </>
          )}
        </div>
      ) : (
        <>
          <ServiceUsersTable users={users} now={now} onAction={onAction} />
          <div className="mt-3 flex flex-wrap items-center justify-between gap-3 text-sm">
            <p className="muted">
              Showing {users.length.toLocaleString('en')} of {total.toLocaleString('en')}{' '}
              {total === 1 ? 'service user' : 'service users'}
              {query.isFetching && !query.isFetchingNextPage ? ' (updating…)' : ''}
            </p>
            <LoadMoreButton query={query} />
          </div>
        </>
      )}

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
      {acting?.action === 'edit' && (
        <ServiceUserFormDialog
          user={acting.user}
          onClose={() => setActing(null)}
          onSaved={(user) => done(`Saved the service user “${user.name}”: its tokens follow at once.`)}
        />
      )}
      {acting?.action === 'toggle' && (
        <ServiceUserStatusDialog
          user={acting.user}
          onClose={() => setActing(null)}
          onChanged={(user) =>
            done(
              user.disabled
                ? `Disabled the service user “${user.name}”: its tokens get 403 Forbidden until it is enabled again.`
                : `Enabled the service user “${user.name}”: its tokens work again.`,
            )
          }
        />
      )}
      {acting?.action === 'delete' && (
        <DeleteServiceUserDialog
          user={acting.user}
          onClose={() => setActing(null)}
          recount={() => fetchTokenCount(acting.user.id)}
          onDeleted={(user, revoked) =>
            done(
              `Deleted the service user “${user.name}”${revoked > 0 ? ` and revoked its ${revoked === 1 ? 'token' : `${revoked} tokens`}` : ''}.`,
            )
          }
        />
      )}
    </>
  )
}
