import type { InfiniteData, QueryClient } from '@tanstack/react-query'
import type { paths } from '../../../lib/openapi-schema'
import { client, ok, type Schemas } from '../../../lib/api'
import { useInfiniteList, useListCount, type ListPage } from '../../../lib/useInfiniteList'

/** A service token's metadata, as GET /api/tokens returns it (never the value). */
export type ServiceToken = Schemas['Token']

/** POST /api/tokens: the value is in this response and nowhere else, ever. */
export type CreatedToken = Schemas['CreatedToken']

/** A token's permission (least privilege: only what the integration needs). */
export type Scope = Schemas['Scope']

export type TokenSort = NonNullable<TokenQuery['sort']>

/** The query of GET /api/tokens. */
type TokenQuery = NonNullable<paths['/api/tokens']['get']['parameters']['query']>

export const SCOPES = [
  { value: 'metrics:read', label: 'Read metrics', description: 'Query metrics and the system configuration.' },
  { value: 'pipeline:write', label: 'Write pipeline data', description: 'Send pipeline runs and results.' },
] as const

export const PAGE_SIZE = 50

export const tokenKeys = {
  all: ['tokens'] as const,
  lists: ['tokens', 'list'] as const,
  list: (subject: string, sort: TokenSort) => ['tokens', 'list', { subject, sort }] as const,
  count: ['tokens', 'count'] as const,
}

export function tokensQuery(subject: string, sort: TokenSort, limit = PAGE_SIZE): TokenQuery {
  return subject ? { limit, sort, subject } : { limit, sort }
}

function listTokens(query: TokenQuery, signal?: AbortSignal) {
  return client.GET('/api/tokens', { params: { query }, signal })
}

/** The active tokens matching `subject`, a page at a time ("Load more"). */
export function useTokens(subject: string, sort: TokenSort) {
  return useInfiniteList(tokenKeys.list(subject, sort), (cursor, signal) =>
    listTokens({ ...tokensQuery(subject, sort), cursor }, signal),
  )
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
export function createToken(subject: string, scopes: Scope[], workloads?: string[]): Promise<CreatedToken> {
  return ok(client.POST('/api/tokens', { body: workloads ? { subject, scopes, workloads } : { subject, scopes } }))
}

export async function revokeToken(tokenId: string): Promise<void> {
  await ok(client.DELETE('/api/tokens/{tokenId}', { params: { path: { tokenId } } }))
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
