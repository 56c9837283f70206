import { useCallback, useId, useState, type ReactNode } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { ArrowLeft, KeyRound, Pencil, Plus, Power, PowerOff, Trash2 } from 'lucide-react'
import { Link, useNavigate, useParams } from 'react-router'
import { PageHeader } from '../../../components/layout/PageHeader'
import { Alert } from '../../../components/ui/Alert'
import { LoadError } from '../../../components/ui/LoadError'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { Spinner } from '../../../components/ui/Spinner'
import { ApiError } from '../../../lib/api'
import { useHandedNotice, type NoticeState } from '../../../lib/useHandedNotice'
import { useNow } from '../../../lib/useNow'
import {
  describeWorkloads,
  fetchTokenCount,
  refreshServiceUsers,
  useServiceUser,
  writesEveryWorkload,
  type ServiceUserDetail,
} from '../api/serviceUsers'
import type { ServiceToken } from '../api/tokens'
import { CreateTokenDialog } from './CreateTokenDialog'
import { DeleteServiceUserDialog } from './DeleteServiceUserDialog'
import { RevokeTokenDialog } from './RevokeTokenDialog'
import { ServiceUserBadges } from './ServiceUserBadges'
import { ServiceUserFormDialog } from './ServiceUserFormDialog'
import { ServiceUserRuns } from './ServiceUserRuns'
import { ServiceUserStatusDialog } from './ServiceUserStatusDialog'
import { TokensTable } from './TokensTable'

type Acting = 'edit' | 'toggle' | 'delete' | 'create-token' | null

const crumbs = [
  { label: 'Admin', to: '/admin' },
  { label: 'Service Users', to: '/admin/service-users' },
]

/** Admin > Service Users > one: its details, its tokens (create, revoke) and the runs they recorded. */
export function ServiceUserPage() {
  const id = Number(useParams().serviceUserId)
  const query = useServiceUser(id)

  if (!Number.isSafeInteger(id) || id < 1 || (query.isError && query.error instanceof ApiError && query.error.status === 404)) {
    return (
      <>
        <PageHeader title="Service user not found" breadcrumbs={[...crumbs, { label: 'Not found' }]} />
        <div className="card space-y-3 text-sm">
          <p>There is no service user with this address: it may have been deleted.</p>
          <Link to="/admin/service-users" className="btn-secondary">
            <ArrowLeft aria-hidden="true" className="size-4" />
            All service users
          </Link>
        </div>
      </>
    )
  }
  if (query.isPending) return <Spinner label="Loading the service user…" />
  if (query.isError) {
    return (
      <>
        <PageHeader title="Service user" breadcrumbs={[...crumbs, { label: 'Service user' }]} />
        <LoadError title="Could not load the service user" error={query.error} onRetry={() => void query.refetch()} />
      </>
    )
  }
  return <ServiceUserView user={query.data} />
}

function Detail({ label, children }: { label: string; children: ReactNode }) {
  return (
    <>
      <dt className="muted">{label}</dt>
      <dd className="min-w-0 font-medium break-words">{children}</dd>
    </>
  )
}

function ServiceUserView({ user }: { user: ServiceUserDetail }) {
  const [acting, setActing] = useState<Acting>(null)
  const [revoking, setRevoking] = useState<ServiceToken | null>(null)
  const [notice, setNotice] = useHandedNotice()
  const queryClient = useQueryClient()
  const navigate = useNavigate()
  const now = useNow()
  const tokensHeadingId = useId()
  const onRevoke = useCallback((token: ServiceToken) => setRevoking(token), [])
  const done = (message: string) => {
    setActing(null)
    setNotice(message)
    refreshServiceUsers(queryClient)
  }

  return (
    <>
      <PageHeader
        title={user.name}
        breadcrumbs={[...crumbs, { label: user.name }]}
        description={user.description ? <p>{user.description}</p> : undefined}
        actions={
          <>
            <button type="button" className="btn-secondary" onClick={() => setActing('edit')}>
              <Pencil aria-hidden="true" className="size-4" />
              Edit
            </button>
            <button type="button" className="btn-secondary" onClick={() => setActing('toggle')}>
              {user.disabled ? <Power aria-hidden="true" className="size-4" /> : <PowerOff aria-hidden="true" className="size-4" />}
              {user.disabled ? 'Enable' : 'Disable'}
            </button>
            <button type="button" className="btn-secondary" onClick={() => setActing('delete')}>
              <Trash2 aria-hidden="true" className="size-4" />
              Delete
            </button>
          </>
        }
      />

      <div role="status" aria-live="polite" className="mb-4 empty:hidden">
        {notice && (
          <Alert tone="success">
            <p>{notice}</p>
          </Alert>
        )}
      </div>

      <div className="space-y-8">
        <section aria-label="Details" className="card space-y-3">
          <ServiceUserBadges user={user} />
          {user.disabled && (
            <Alert tone="warning" title="Disabled">
              <p>Its tokens get 403 Forbidden (service_user_disabled) until it is enabled again.</p>
            </Alert>
          )}
          {writesEveryWorkload(user) && (
            <Alert tone="warning" title="Writes into every workload">
              <p>
                Its tokens may record runs into any workload and create new ones. Edit it to name the workloads its
                pipelines use.
              </p>
            </Alert>
          )}
          <dl className="grid grid-cols-[auto_1fr] gap-x-6 gap-y-1.5 text-sm">
            <Detail label="Role (scopes)">
              <span className="font-mono">{user.scopes.join(' ')}</span>
            </Detail>
            <Detail label="Workloads">
              <span className="font-mono break-all">{describeWorkloads(user.workloads)}</span>
            </Detail>
            <Detail label="Allowed networks">
              {user.allowedCidrs.length === 0 ? 'Any address' : user.allowedCidrs.join(', ')}
            </Detail>
            <Detail label="Status">{user.disabled ? 'Disabled' : 'Enabled'}</Detail>
            <Detail label="Active tokens">{user.tokenCount.toLocaleString('en')}</Detail>
            <Detail label="Last used">
              {user.lastUsed ? <RelativeTime value={user.lastUsed} now={now} /> : <span className="muted">Never</span>}
            </Detail>
            <Detail label="Created">
              <RelativeTime value={user.created} now={now} /> by <span className="break-all">{user.createdBy}</span>
            </Detail>
          </dl>
        </section>

        <section aria-labelledby={tokensHeadingId} className="space-y-3">
          <div className="flex flex-wrap items-center justify-between gap-3">
            <h2 id={tokensHeadingId} className="text-lg font-semibold">
              Tokens
            </h2>
            <button
              type="button"
              className="btn-primary"
              onClick={() => setActing('create-token')}
              disabled={user.disabled}
              title={user.disabled ? 'Enable the service user to issue tokens for it' : undefined}
            >
              <Plus aria-hidden="true" className="size-4" />
              Create Token
            </button>
          </div>
          {user.tokens.length === 0 ? (
            <div className="card flex flex-col items-center gap-2 py-8 text-center">
              <KeyRound aria-hidden="true" className="muted size-7" />
              <p className="font-medium">No active tokens</p>
              <p className="muted text-sm">Issue one for each environment its pipelines run in.</p>
            </div>
          ) : (
            <TokensTable tokens={user.tokens} now={now} onRevoke={onRevoke} linkSubjects={false} />
          )}
        </section>

        <ServiceUserRuns name={user.name} onNotice={setNotice} />
      </div>

      {acting === 'create-token' && (
        <CreateTokenDialog
          serviceUser={user}
          onClose={() => setActing(null)}
          onCreated={() => {
            setNotice(`Created a token for “${user.name}”.`)
            refreshServiceUsers(queryClient)
          }}
        />
      )}
      {revoking && (
        <RevokeTokenDialog
          token={revoking}
          onClose={() => setRevoking(null)}
          onRevoked={(token) => {
            setRevoking(null)
            setNotice(`Revoked the token for “${token.sub}”. Calls made with it now get 401 Unauthorized.`)
            refreshServiceUsers(queryClient)
          }}
        />
      )}
      {acting === 'edit' && (
        <ServiceUserFormDialog
          user={user}
          onClose={() => setActing(null)}
          onSaved={(saved) => done(`Saved the service user “${saved.name}”: its tokens follow at once.`)}
        />
      )}
      {acting === 'toggle' && (
        <ServiceUserStatusDialog
          user={user}
          onClose={() => setActing(null)}
          onChanged={(saved) =>
            done(
              saved.disabled
                ? `Disabled the service user “${saved.name}”: its tokens get 403 Forbidden until it is enabled again.`
                : `Enabled the service user “${saved.name}”: its tokens work again.`,
            )
          }
        />
      )}
      {acting === 'delete' && (
        <DeleteServiceUserDialog
          user={user}
          onClose={() => setActing(null)}
          recount={() => fetchTokenCount(user.id)}
          onDeleted={(deleted, revoked) => {
            refreshServiceUsers(queryClient)
            void navigate('/admin/service-users', {
              state: {
                notice: `Deleted the service user “${deleted.name}”${revoked > 0 ? ` and revoked its ${revoked === 1 ? 'token' : `${revoked} tokens`}` : ''}.`,
              } satisfies NoticeState,
            })
          }}
        />
      )}
    </>
  )
}
