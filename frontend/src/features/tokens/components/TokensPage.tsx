import { useEffect, useRef, useState } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { BookOpen, Download, KeyRound, Plus, Trash2 } from 'lucide-react'
import { PageHeader } from '../../../components/layout/PageHeader'
import { EmptyState } from '../../../components/ui/EmptyState'
import { Notice } from '../../../components/ui/Notice'
import { PagedList } from '../../../components/ui/PagedList'
import { SearchField } from '../../../components/ui/SearchField'
import { SelectField } from '../../../components/ui/SelectField'
import { errorMessage } from '../../../lib/api'
import { useSearchParam, useUrlFilter } from '../../../lib/useSearchParam'
import { useNow } from '../../../lib/useNow'
import {
  MAX_BULK_REVOKE,
  STATUS_FILTERS,
  exportUrl,
  matchingTokenIds,
  removeTokenFromCache,
  statusFilter,
  tokenKeys,
  useReplacedTokens,
  useTokens,
  type TokenSort,
} from '../api/tokens'
import { ApiUsageHint } from './ApiUsageHint'
import { BulkRevokeDialog, outcomeText, type SelectedToken } from './BulkRevokeDialog'
import { CreateTokenDialog } from './CreateTokenDialog'
import { FindTokenByValue } from './FindTokenByValue'
import { TokensTable } from './TokensTable'
import { useTokenActions } from './useTokenActions'

const SORTS = [
  { value: 'created', label: 'Newest first' },
  { value: 'expires', label: 'Expiring soonest' },
] as const

const NO_SELECTION: ReadonlyMap<string, SelectedToken> = new Map()

/** Admin > Service Tokens: the active tokens (or the history), create, rotate, revoke. */
export function TokensPage() {
  const filter = useUrlFilter('subject')
  const subject = filter.applied
  const [sortParam, setSort] = useSearchParam('sort')
  const sort: TokenSort = sortParam === 'expires' ? 'expires' : 'created'
  const [statusParam, setStatus] = useSearchParam('status')
  const status = statusFilter(statusParam)
  const [staleParam, setStale] = useSearchParam('stale')
  // Only active tokens can be stale: the filter applies to the active list.
  const stale = staleParam === 'true' && status === 'active'
  const [creating, setCreating] = useState(false)
  const [notice, setNotice] = useState('')
  const queryClient = useQueryClient()
  const now = useNow()
  // Tokens picked for revoking at once, by id (their subjects name them in the dialog), with
  // the filters they were picked under: a change of filter (not of sort) clears them.
  const filters = JSON.stringify([subject, status, stale])
  const [selection, setSelection] = useState({ filters, tokens: NO_SELECTION })
  if (selection.filters !== filters) setSelection({ filters, tokens: NO_SELECTION })
  const selected = selection.tokens
  const setSelected = (tokens: ReadonlyMap<string, SelectedToken>) => setSelection({ filters, tokens })
  // The filters shown now, for an answer to "Select all matching" that comes after a change.
  const shownFilters = useRef(filters)
  useEffect(() => {
    shownFilters.current = filters
  }, [filters])
  const [bulkRevoking, setBulkRevoking] = useState(false)
  const [selecting, setSelecting] = useState(false)
  const select = (token: SelectedToken, on: boolean) =>
    setSelection((prev) => {
      if (prev.filters !== filters) return prev
      const next = new Map(prev.tokens)
      if (on) next.set(token.tokenId, { tokenId: token.tokenId, sub: token.sub })
      else next.delete(token.tokenId)
      return { filters, tokens: next }
    })
  async function selectAllMatching() {
    const asked = filters
    setSelecting(true)
    try {
      const { tokens, total } = await matchingTokenIds(subject, sort, status, stale)
      // Tokens matching filters no longer shown are not selected under the new ones.
      if (shownFilters.current !== asked) return
      setSelection({ filters: asked, tokens: new Map(tokens.map((t) => [t.tokenId, t])) })
      setNotice(
        total > tokens.length
          ? `Selected the first ${tokens.length} of ${total} matching tokens: at most ${MAX_BULK_REVOKE} are revoked at once.`
          : '',
      )
    } catch (err) {
      setNotice(`Could not select the matching tokens: ${errorMessage(err)}`)
    } finally {
      setSelecting(false)
    }
  }

  const query = useTokens(subject, sort, status, stale)
  // The active list shows above it the rotated tokens still in their grace period.
  const replaced = useReplacedTokens(subject, status === 'active' && !stale)
  const actions = useTokenActions({
    onNotice: setNotice,
    onChanged: (token, action) => {
      if (action === 'revoke') removeTokenFromCache(queryClient, token.tokenId)
      void queryClient.invalidateQueries({ queryKey: tokenKeys.all })
    },
  })
  const label = STATUS_FILTERS.find((s) => s.value === status)!.label.toLowerCase()
  const createButton = (
    <button type="button" className="btn-primary" onClick={() => setCreating(true)}>
      <Plus aria-hidden="true" className="size-4" />
      Create Token
    </button>
  )

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
            <a className="btn-secondary" href={exportUrl(subject, sort, status, stale)} download>
              <Download aria-hidden="true" className="size-4" />
              Export CSV
            </a>
            <a className="btn-secondary" href="/api/openapi.json">
              <BookOpen aria-hidden="true" className="size-4" />
              API documentation
            </a>
            {createButton}
          </>
        }
      />

      <Notice message={notice} />

      <div className="mb-4 flex flex-wrap items-end gap-3">
        <SearchField
          className="min-w-64 flex-1 space-y-1"
          label="Filter by subject"
          value={filter.text}
          onChange={filter.setText}
          placeholder="Subject contains…"
        />
        <SelectField
          label="Sort by"
          value={sort}
          onChange={(value) => setSort(value === 'expires' ? 'expires' : '')}
          options={SORTS}
        />
        <SelectField
          label="Status"
          value={status}
          onChange={(value) => setStatus(value === 'active' ? '' : value)}
          options={STATUS_FILTERS}
        />
        {status === 'active' && (
          <label
            className="flex items-center gap-2 pb-2 text-sm"
            title="Active tokens not used for STALE_AFTER (90 days unless configured otherwise), or never used and older than that"
          >
            <input type="checkbox" checked={stale} onChange={(e) => setStale(e.target.checked ? 'true' : '')} />
            Stale only
          </label>
        )}
      </div>

      {(status === 'active' || status === 'rotated' || status === 'all') && (
        <div className="mb-3 flex flex-wrap items-center gap-3 text-sm" aria-label="Selection">
          <span role="status">{selected.size ? `${selected.size} selected` : 'Select tokens to revoke several at once.'}</span>
          <button type="button" className="btn-secondary" onClick={() => void selectAllMatching()} disabled={selecting}>
            {selecting ? 'Selecting…' : 'Select all matching'}
          </button>
          {selected.size > 0 && (
            <>
              <button type="button" className="btn-danger" onClick={() => setBulkRevoking(true)}>
                <Trash2 aria-hidden="true" className="size-4" />
                Revoke selected
              </button>
              <button type="button" className="btn-secondary" onClick={() => setSelected(new Map())}>
                Clear selection
              </button>
            </>
          )}
        </div>
      )}

      <PagedList
        query={query}
        loading="Loading tokens…"
        failed="Could not load the tokens"
        noun={['token', 'tokens']}
        empty={
          <EmptyState icon={KeyRound}>
            {status !== 'active' ? (
              <p className="font-medium">
                {status === 'all' ? 'No token' : `No ${label} token`}
                {subject ? `’s subject contains “${subject}”` : ' yet'}.
              </p>
            ) : stale ? (
              <p className="font-medium">
                No stale token{subject ? `’s subject contains “${subject}”` : ''}: every active token has been used
                recently.
              </p>
            ) : subject ? (
              <p className="font-medium">No active token's subject contains “{subject}”.</p>
            ) : (
              <>
                <p className="font-medium">No active service tokens</p>
                <p className="muted text-sm">Create one for each service or application that calls the API.</p>
                {createButton}
              </>
            )}
          </EmptyState>
        }
      >
        {(tokens) => (
          <TokensTable
            tokens={status === 'active' && !stale ? [...(replaced.data ?? []), ...tokens] : tokens}
            now={now}
            onAction={actions.onAction}
            selected={selected}
            onSelect={select}
            caption={stale ? 'Stale service tokens' : status === 'active' ? 'Active service tokens' : status === 'all' ? 'Service tokens' : `Service tokens: ${label}`}
          />
        )}
      </PagedList>

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
      {actions.dialog}
      {bulkRevoking && (
        <BulkRevokeDialog
          tokens={[...selected.values()]}
          onClose={() => setBulkRevoking(false)}
          onRevoked={(result) => {
            setBulkRevoking(false)
            setSelected(new Map())
            setNotice(`Bulk revocation: ${outcomeText(result)}.`)
            void queryClient.invalidateQueries({ queryKey: tokenKeys.all })
          }}
        />
      )}
    </>
  )
}
