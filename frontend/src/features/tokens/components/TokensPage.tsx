import { useCallback, useEffect, useId, useState } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { BookOpen, KeyRound, Plus, Search } from 'lucide-react'
import { useSearchParams } from 'react-router'
import { PageHeader } from '../../../components/layout/PageHeader'
import { Alert } from '../../../components/ui/Alert'
import { LoadError } from '../../../components/ui/LoadError'
import { LoadMoreButton } from '../../../components/ui/LoadMoreButton'
import { Spinner } from '../../../components/ui/Spinner'
import { useNow } from '../../../lib/useNow'
import { removeTokenFromCache, tokenKeys, useTokens, type ServiceToken, type TokenSort } from '../api/tokens'
import { ApiUsageHint } from './ApiUsageHint'
import { CreateTokenDialog } from './CreateTokenDialog'
import { FindTokenByValue } from './FindTokenByValue'
import { RevokeTokenDialog } from './RevokeTokenDialog'
import { TokensTable } from './TokensTable'

/** Admin > Service Tokens: the active tokens, create, revoke. */
export function TokensPage() {
  const [params, setParams] = useSearchParams()
  const subject = params.get('subject') ?? ''
  const sort: TokenSort = params.get('sort') === 'expires' ? 'expires' : 'created'
  const [filterText, setFilterText] = useState(subject)
  const [creating, setCreating] = useState(false)
  const [revoking, setRevoking] = useState<ServiceToken | null>(null)
  const [notice, setNotice] = useState('')
  const queryClient = useQueryClient()
  const now = useNow()
  const filterId = useId()
  const sortId = useId()

  // Filter as the user types, without a request per keystroke.
  useEffect(() => {
    const value = filterText.trim()
    if (value === subject) return
    const timer = window.setTimeout(() => {
      setParams(
        () => {
          const next = new URLSearchParams(window.location.search)
          if (value) next.set('subject', value)
          else next.delete('subject')
          return next
        },
        { replace: true },
      )
    }, 250)
    return () => window.clearTimeout(timer)
  }, [filterText, subject, setParams])

  const query = useTokens(subject, sort)
  const tokens = query.data?.items ?? []
  const total = query.data?.total ?? tokens.length

  const onRevoke = useCallback((token: ServiceToken) => setRevoking(token), [])

  return (
    <>
      <PageHeader
        title="Service Tokens"
        breadcrumbs={[{ label: 'Admin', to: '/admin' }, { label: 'Service Tokens' }]}
        description={
          <p>
            Service tokens give automated systems, background processes and third-party integrations long-lived access
            to the CodeMetrics API. Tokens expiring within 30 days are highlighted.
          </p>
        }
        actions={
          <>
            <a className="btn-secondary" href="/api/openapi.json">
              <BookOpen aria-hidden="true" className="size-4" />
              API documentation
            </a>
            <button type="button" className="btn-primary" onClick={() => setCreating(true)}>
              <Plus aria-hidden="true" className="size-4" />
              Create Token
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

      <div className="mb-4 flex flex-wrap items-end gap-3">
        <div className="min-w-64 flex-1 space-y-1">
          <label htmlFor={filterId} className="block text-sm font-medium">
            Filter by subject
          </label>
          <div className="relative">
            <Search aria-hidden="true" className="muted pointer-events-none absolute top-2.5 left-3 size-4" />
            <input
              id={filterId}
              type="search"
              className="field-input pl-9"
              value={filterText}
              onChange={(e) => setFilterText(e.target.value)}
              placeholder="Subject contains…"
              autoComplete="off"
            />
          </div>
        </div>
        <div className="space-y-1">
          <label htmlFor={sortId} className="block text-sm font-medium">
            Sort by
          </label>
          <select
            id={sortId}
            className="field-input"
            value={sort}
            onChange={(e) =>
              setParams(
                () => {
                  const next = new URLSearchParams(window.location.search)
                  if (e.target.value === 'expires') next.set('sort', 'expires')
                  else next.delete('sort')
                  return next
                },
                { replace: true },
              )
            }
          >
            <option value="created">Newest first</option>
            <option value="expires">Expiring soonest</option>
          </select>
        </div>
      </div>

      {query.isPending ? (
        <Spinner label="Loading tokens…" />
      ) : query.isError ? (
        <LoadError title="Could not load the tokens" error={query.error} onRetry={() => void query.refetch()} />
      ) : tokens.length === 0 ? (
        <div className="card flex flex-col items-center gap-3 py-12 text-center">
          <KeyRound aria-hidden="true" className="muted size-8" />
          {subject ? (
            <p className="font-medium">No active token's subject contains “{subject}”.</p>
          ) : (
            <>
              <p className="font-medium">No active service tokens</p>
              <p className="muted text-sm">Create one for each service or application that calls the API.</p>
              <button type="button" className="btn-primary" onClick={() => setCreating(true)}>
                <Plus aria-hidden="true" className="size-4" />
                Create Token
              </button>
            </>
          )}
        </div>
      ) : (
        <>
          <TokensTable tokens={tokens} now={now} onRevoke={onRevoke} />
          <div className="mt-3 flex flex-wrap items-center justify-between gap-3 text-sm">
            <p className="muted">
              Showing {tokens.length.toLocaleString('en')} of {total.toLocaleString('en')}{' '}
              {total === 1 ? 'token' : 'tokens'}
              {query.isFetching && !query.isFetchingNextPage ? ' (updating…)' : ''}
            </p>
            <LoadMoreButton query={query} />
          </div>
        </>
      )}

      <div className="mt-8">
        <FindTokenByValue />
      </div>

      <div className="mt-8">
        <ApiUsageHint />
      </div>

      {creating && (
        <CreateTokenDialog
          onClose={() => setCreating(false)}
          onCreated={({ subject: created }) => {
            setNotice(`Created a token for “${created}”.`)
            void queryClient.invalidateQueries({ queryKey: tokenKeys.all })
          }}
        />
      )}
      {revoking && (
        <RevokeTokenDialog
          token={revoking}
          onClose={() => setRevoking(null)}
          onRevoked={(token) => {
            setRevoking(null)
            removeTokenFromCache(queryClient, token.tokenId)
            setNotice(`Revoked the token for “${token.sub}”. Calls made with it now get 401 Unauthorized.`)
          }}
        />
      )}
    </>
  )
}
