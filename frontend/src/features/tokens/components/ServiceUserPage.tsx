import { useId, useState } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { ArrowLeft, KeyRound, Pencil, Plus, Power, PowerOff, Trash2 } from 'lucide-react'
import { Link, useNavigate, useParams } from 'react-router'
import { PageHeader } from '../../../components/layout/PageHeader'
import { Alert } from '../../../components/ui/Alert'
import { LastUsed } from '../../../components/ui/DataTable'
import { Detail, Details } from '../../../components/ui/Details'
import { EmptyState } from '../../../components/ui/EmptyState'
import { LoadError } from '../../../components/ui/LoadError'
import { Notice } from '../../../components/ui/Notice'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { Spinner } from '../../../components/ui/Spinner'
import { ApiError } from '../../../lib/api'
import { useHandedNotice, type NoticeState } from '../../../lib/useHandedNotice'
import { useNow } from '../../../lib/useNow'
import {
  describeWorkloads,
  refreshServiceUsers,
  useServiceUser,
  writesEveryWorkload,
  type ServiceUserDetail,
} from '../api/serviceUsers'
import { CreateTokenDialog } from './CreateTokenDialog'
import { ServiceUserBadges } from './ServiceUserBadges'
import { ServiceUserDialogs, type ServiceUserAction } from './ServiceUserDialogs'
import { ServiceUserRuns } from './ServiceUserRuns'
import { TokensTable } from './TokensTable'
import { useTokenActions } from './useTokenActions'

type Acting = ServiceUserAction | 'create-token' | null

/** A fact's value in the details. */
const fact = 'min-w-0 font-medium break-words'

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

function ServiceUserView({ user }: { user: ServiceUserDetail }) {
  const [acting, setActing] = useState<Acting>(null)
  const [notice, setNotice] = useHandedNotice()
  const queryClient = useQueryClient()
  const navigate = useNavigate()
  const now = useNow()
  const tokensHeadingId = useId()
  const actions = useTokenActions({ onNotice: setNotice, onChanged: () => refreshServiceUsers(queryClient) })

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

      <Notice message={notice} />

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
          <Details>
            <Detail label="Role (scopes)" className={fact}>
              <span className="font-mono">{user.scopes.join(' ')}</span>
            </Detail>
            <Detail label="Workloads" className={fact}>
              <span className="font-mono break-all">{describeWorkloads(user.workloads)}</span>
            </Detail>
            <Detail label="Allowed networks" className={fact}>
              {user.allowedCidrs.length === 0 ? 'Any address' : user.allowedCidrs.join(', ')}
            </Detail>
            <Detail label="Status" className={fact}>
              {user.disabled ? 'Disabled' : 'Enabled'}
            </Detail>
            <Detail label="Active tokens" className={fact}>
              {user.tokenCount.toLocaleString('en')}
            </Detail>
            <Detail label="Last used" className={fact}>
              <LastUsed value={user.lastUsed} now={now} />
            </Detail>
            <Detail label="Created" className={fact}>
              <RelativeTime value={user.created} now={now} /> by <span className="break-all">{user.createdBy}</span>
            </Detail>
          </Details>
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
            <EmptyState icon={KeyRound} compact>
              <p className="font-medium">No active tokens</p>
              <p className="muted text-sm">Issue one for each environment its pipelines run in.</p>
            </EmptyState>
          ) : (
            <TokensTable tokens={user.tokens} now={now} onAction={actions.onAction} linkSubjects={false} />
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
      {actions.dialog}
      {acting && acting !== 'create-token' && (
        <ServiceUserDialogs
          user={user}
          action={acting}
          onClose={() => setActing(null)}
          onDone={(message, action) => {
            refreshServiceUsers(queryClient)
            if (action === 'delete') {
              void navigate('/admin/service-users', { state: { notice: message } satisfies NoticeState })
              return
            }
            setActing(null)
            setNotice(message)
          }}
        />
      )}
    </>
  )
}
