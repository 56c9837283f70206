import { useQuery, type InfiniteData, type QueryClient } from '@tanstack/react-query'
import type { paths } from '../../../lib/openapi-schema'
import { ApiError, client, ok, type Schemas } from '../../../lib/api'
import { fetchListPage, useInfiniteList, useListCount, type ListPage } from '../../../lib/useInfiniteList'

/** A service token's metadata, as GET /api/tokens returns it (never the value). */
export type ServiceToken = Schemas['Token']

/** POST /api/tokens: the value is in this response and nowhere else, ever. */
export type CreatedToken = Schemas['CreatedToken']

/** POST /api/tokens/{id}/rotate: the successor's value (shown once) and when the old token stops. */
export type RotatedToken = Schemas['RotatedToken']

/** Where a token is in its life: active, rotated (replaced), expired or revoked. */
export type TokenStatus = Schemas['TokenStatus']

/** What the list shows: one status, or every token. */
export type StatusFilter = TokenStatus | 'all'

export const STATUS_FILTERS: readonly { value: StatusFilter; label: string }[] = [
  { value: 'active', label: 'Active' },
  { value: 'rotated', label: 'Rotated' },
  { value: 'expired', label: 'Expired' },
  { value: 'revoked', label: 'Revoked' },
  { value: 'all', label: 'All' },
]

/** The status filter named in a URL, active when it names none or something else. */
export function statusFilter(raw: string): StatusFilter {
  return STATUS_FILTERS.find((s) => s.value === raw)?.value ?? 'active'
}

/** The grace periods a rotation offers; 24 hours is the server's default (ROTATION_GRACE_PERIOD). */
export const GRACE_PERIODS = [
  { value: '0s', label: 'None: the old token stops at once' },
  { value: '1h', label: '1 hour' },
  { value: '24h', label: '24 hours' },
  { value: '3d', label: '3 days' },
  { value: '7d', label: '7 days (the longest)' },
] as const

export const DEFAULT_GRACE_PERIOD = '24h'

/** Lifetimes offered at creation, in days: those up to SERVICE_TOKEN_TTL. */
export const LIFETIME_PRESET_DAYS = [30, 90, 180, 365] as const

/** A token's permission (least privilege: only what the integration needs). */
export type Scope = Schemas['Scope']

export type TokenSort = NonNullable<TokenQuery['sort']>

/** The query of GET /api/tokens. */
type TokenQuery = NonNullable<paths['/api/tokens']['get']['parameters']['query']>

export const SCOPES = [
  { value: 'metrics:read', label: 'Read metrics', description: 'Query metrics and the system configuration.' },
  { value: 'pipeline:write', label: 'Write pipeline data', description: 'Send pipeline runs and results.' },
  {
    value: 'tokens:rotate',
    label: 'Rotate itself',
    description: 'Rotate itself (POST /api/tokens/self/rotate), so a pipeline can renew its own token.',
  },
] as const satisfies readonly { value: Scope; label: string; description: string }[]

export const PAGE_SIZE = 50

export const tokenKeys = {
  all: ['tokens'] as const,
  lists: ['tokens', 'list'] as const,
  list: (subject: string, sort: TokenSort, status: StatusFilter = 'active', stale = false) =>
    ['tokens', 'list', { subject, sort, status, stale }] as const,
  count: ['tokens', 'count'] as const,
  detail: (tokenId: string) => ['tokens', 'detail', tokenId] as const,
  usage: (tokenId: string, from: string, to: string) => ['tokens', 'usage', tokenId, { from, to }] as const,
}

/** The query of one page; the status only when it is not the default (active), stale only when asked. */
export function tokensQuery(
  subject: string,
  sort: TokenSort,
  limit = PAGE_SIZE,
  status: StatusFilter = 'active',
  stale = false,
): TokenQuery {
  return {
    limit,
    sort,
    ...(subject ? { subject } : {}),
    ...(status === 'active' ? {} : { status }),
    ...(stale ? { stale: 'true' as const } : {}),
  }
}

/**
 * The address of the CSV export (GET /api/tokens/export) of the tokens the list's filters
 * select, every page of them: the browser downloads it with the session cookie.
 */
export function exportUrl(subject: string, sort: TokenSort, status: StatusFilter = 'active', stale = false): string {
  const params = new URLSearchParams({ format: 'csv' })
  for (const [key, value] of Object.entries(tokensQuery(subject, sort, 0, status, stale))) {
    if (key !== 'limit') params.set(key, String(value))
  }
  return `/api/tokens/export?${params.toString()}`
}

function listTokens(query: TokenQuery, signal?: AbortSignal) {
  return client.GET('/api/tokens', { params: { query }, signal })
}

/** The tokens of `status` whose subject matches `subject`, a page at a time ("Load more"). */
export function useTokens(subject: string, sort: TokenSort, status: StatusFilter = 'active', stale = false) {
  return useInfiniteList(tokenKeys.list(subject, sort, status, stale), (cursor, signal) =>
    listTokens({ ...tokensQuery(subject, sort, PAGE_SIZE, status, stale), cursor }, signal),
  )
}

/** How many rotated tokens are read to find those still in their grace period. */
export const REPLACED_LOOKUP = 100

/**
 * The rotated tokens still in their grace period (they work until `ends`), for the top of the
 * active list: among the newest rotated ones, which holds every recent rotation but of tokens
 * far older than the REPLACED_LOOKUP tokens rotated after them.
 */
export function useReplacedTokens(subject: string, enabled: boolean) {
  return useQuery({
    queryKey: ['tokens', 'replaced', { subject }],
    queryFn: async ({ signal }) => {
      const page = await fetchListPage(listTokens(tokensQuery(subject, 'created', REPLACED_LOOKUP, 'rotated'), signal))
      return page.items
    },
    select: (tokens) => tokens.filter((t) => Date.parse(t.ends) > Date.now()),
    enabled,
  })
}

/** How many tokens the Administration page lists as expiring soon, at most. */
export const EXPIRING_LISTED = 10

/** The active tokens that expire soonest, for the Administration page (it keeps those within 30 days). */
export function useSoonestExpiring() {
  return useQuery({
    queryKey: ['tokens', 'soonest'],
    queryFn: ({ signal }) => fetchListPage(listTokens(tokensQuery('', 'expires', EXPIRING_LISTED), signal)),
  })
}

/** How many tokens are active. */
export function useTokenCount() {
  return useListCount(tokenKeys.count, (signal) => listTokens(tokensQuery('', 'created', 1), signal))
}

/**
 * Issues a token for the service user named `subject`, creating it when there is none:
 * `workloads` are then its workloads (required with pipeline:write; leave them out for an
 * existing service user, whose own workloads apply).
 */
export function createToken(
  subject: string,
  scopes: Scope[],
  workloads?: string[],
  { expiresIn, description }: { expiresIn?: string; description?: string } = {},
): Promise<CreatedToken> {
  return ok(
    client.POST('/api/tokens', {
      body: {
        subject,
        scopes,
        ...(workloads ? { workloads } : {}),
        ...(expiresIn ? { expiresIn } : {}),
        ...(description ? { description } : {}),
      },
    }),
  )
}

/** Revokes a token at once, for good; the reason (optional) is kept with it and in the audit log. */
export async function revokeToken(tokenId: string, reason?: string): Promise<void> {
  await ok(
    client.DELETE('/api/tokens/{tokenId}', { params: { path: { tokenId }, query: reason ? { reason } : {} } }),
  )
}

/** What POST /api/tokens/revoke did, or with dryRun would do, to each id. */
export type BulkRevokeResult = Schemas['BulkRevokeResult']

/** How many tokens one bulk revocation takes (POST /api/tokens/revoke). */
export const MAX_BULK_REVOKE = 1000

/** Revokes the active tokens among `ids` at once; with `dryRun`, only says what it would do. */
export function revokeTokens(ids: string[], reason: string, dryRun: boolean): Promise<BulkRevokeResult> {
  return ok(client.POST('/api/tokens/revoke', { body: { ids, dryRun, ...(reason ? { reason } : {}) } }))
}

/** The ids of every token the list's filters select (up to MAX_BULK_REVOKE), and how many there are. */
export async function matchingTokenIds(
  subject: string,
  sort: TokenSort,
  status: StatusFilter,
  stale: boolean,
): Promise<{ tokens: { tokenId: string; sub: string }[]; total: number }> {
  const page = await fetchListPage(listTokens(tokensQuery(subject, sort, MAX_BULK_REVOKE, status, stale)))
  return { tokens: page.items.map((t) => ({ tokenId: t.tokenId, sub: t.sub })), total: page.total ?? page.items.length }
}

/** Issues the token's successor; the old one keeps working for `gracePeriod` ("24h", "0s"). */
export function rotateToken(tokenId: string, gracePeriod: string): Promise<RotatedToken> {
  return ok(client.POST('/api/tokens/{tokenId}/rotate', { params: { path: { tokenId } }, body: { gracePeriod } }))
}

/** Removes a revoked token from every cached list, so its row disappears at once. */
export function removeTokenFromCache(queryClient: QueryClient, tokenId: string) {
  queryClient.setQueriesData<InfiniteData<ListPage<ServiceToken>, string | undefined>>({ queryKey: tokenKeys.lists }, (data) => {
    if (!data) return data
    let removed = false
    const pages = data.pages.map((page) => {
      const items = page.items.filter((t) => t.tokenId !== tokenId)
      if (items.length !== page.items.length) removed = true
      return { ...page, items }
    })
    if (!removed) return data
    return {
      ...data,
      pages: pages.map((page) => ({ ...page, total: page.total === undefined ? undefined : Math.max(0, page.total - 1) })),
    }
  })
  void queryClient.invalidateQueries({ queryKey: tokenKeys.count })
}

/** The longest description of a token or a service user, in characters. */
export const MAX_DESCRIPTION = 500

/** Why a description is not acceptable (too long), or undefined. */
export function checkDescription(raw: string): string | undefined {
  const length = [...raw.trim()].length
  return length > MAX_DESCRIPTION ? `The description is too long: ${length} characters, at most ${MAX_DESCRIPTION}.` : undefined
}

/** Why a subject is not acceptable, or undefined when it is (the server checks the same). */
export function validateSubject(raw: string): string | undefined {
  return checkName(raw, 'subject', 'Enter a subject: the name of the service or application that will use the token.')
}

/** Why a service user's name is not acceptable (the rules of a subject, which it is), or undefined. */
export function validateServiceUserName(raw: string): string | undefined {
  return checkName(raw, 'name', 'Enter a name: the pipeline or application that will use its tokens.')
}

function checkName(raw: string, noun: string, empty: string): string | undefined {
  const name = raw.trim()
  if (name === '') return empty
  if ([...name].length > 100) return `The ${noun} is too long: ${[...name].length} characters, at most 100.`
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return `The ${noun} must not contain control characters such as tabs or line breaks.`
  return undefined
}

/** A token found by its value (POST /api/tokens/identify): its entry with its status, active or ended. */
export type IdentifiedToken = Schemas['Token']

/**
 * Finds the service token `value` is. The value is sent in the request body only (never in a
 * URL, so no log or history holds it) and is not kept anywhere; resolves to null when it is not
 * a token of this server (404).
 */
export async function identifyToken(value: string): Promise<IdentifiedToken | null> {
  try {
    return await ok(client.POST('/api/tokens/identify', { body: { token: value.trim() } }))
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null
    throw err
  }
}

/** "1,234 requests in the last 30 days": what a token's sparkline shows, in words. */
export function requestsLabel(requests: number, days = 30): string {
  return `${requests.toLocaleString('en')} ${requests === 1 ? 'request' : 'requests'} in the last ${days} days`
}

/** The address of a token's page (its usage). */
export function tokenPath(tokenId: string): string {
  return `/admin/service-tokens/${encodeURIComponent(tokenId)}`
}

/** One token, whatever its status (GET /api/tokens/{id}); its 404 is an ApiError with status 404. */
export function useToken(tokenId: string) {
  return useQuery({
    queryKey: tokenKeys.detail(tokenId),
    queryFn: ({ signal }) => ok(client.GET('/api/tokens/{tokenId}', { params: { path: { tokenId } }, signal })),
  })
}

/** GET /api/tokens/{id}/usage: requests and refused by UTC day, and the recent clients. */
export type TokenUsage = Schemas['TokenUsage']

export type UsageClient = Schemas['UsageClient']

/** The ranges the token page offers, in days up to today (UTC); 30 is the server's default. */
export const USAGE_RANGES = [
  { value: '30', label: 'Last 30 days' },
  { value: '90', label: 'Last 90 days' },
] as const

export type UsageRange = (typeof USAGE_RANGES)[number]['value']

const DAY_MS = 86_400_000

/** The UTC days from `days - 1` days before today to today, as YYYY-MM-DD. */
export function usageDays(days: number, now: Date): { from: string; to: string } {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)
  return { from: day(today - (days - 1) * DAY_MS), to: day(today) }
}

/** A token's usage over the last `days` days, today included. */
export function useTokenUsage(tokenId: string, days: number, now: Date) {
  const { from, to } = usageDays(days, now)
  return useQuery({
    queryKey: tokenKeys.usage(tokenId, from, to),
    queryFn: ({ signal }) =>
      ok(client.GET('/api/tokens/{tokenId}/usage', { params: { path: { tokenId }, query: { from, to } }, signal })),
    placeholderData: (previous) => previous,
  })
}
