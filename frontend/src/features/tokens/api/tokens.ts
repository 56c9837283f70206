import { useInfiniteQuery, useQuery, type InfiniteData, type QueryClient } from '@tanstack/react-query'
import { api, nextLink } from '../../../lib/api'

/** A service token's metadata, as GET /api/tokens returns it (never the value). */
export interface ServiceToken {
  tokenId: string
  created: string
  expires: string
  sub: string
  createdBy: string
  /** null when the token has never been used. */
  lastUsed: string | null
  scopes: string[]
}

/** POST /api/tokens: the value is in this response and nowhere else, ever. */
export interface CreatedToken {
  accessToken: string
  tokenId: string
  expires: string
}

export type TokenSort = 'created' | 'expires'

export const SCOPES = [
  { value: 'metrics:read', label: 'Read metrics', description: 'Query metrics and the system configuration.' },
  { value: 'pipeline:write', label: 'Write pipeline data', description: 'Send pipeline runs and results.' },
] as const

export const PAGE_SIZE = 50

export interface TokenPage {
  tokens: ServiceToken[]
  total: number
  next?: string
}

export const tokenKeys = {
  all: ['tokens'] as const,
  lists: ['tokens', 'list'] as const,
  list: (subject: string, sort: TokenSort) => ['tokens', 'list', { subject, sort }] as const,
  count: ['tokens', 'count'] as const,
}

export function tokensUrl(subject: string, sort: TokenSort, limit = PAGE_SIZE): string {
  const params = new URLSearchParams({ limit: String(limit), sort })
  if (subject) params.set('subject', subject)
  return `/api/tokens?${params}`
}

async function fetchPage(url: string, signal?: AbortSignal): Promise<TokenPage> {
  const { data, headers } = await api.getWithHeaders<ServiceToken[]>(url, { signal })
  const total = Number(headers.get('X-Total-Count'))
  return {
    tokens: data,
    total: Number.isFinite(total) && headers.has('X-Total-Count') ? total : data.length,
    next: nextLink(headers.get('Link')),
  }
}

/** The active tokens matching `subject`, a page at a time ("Load more"). */
export function useTokens(subject: string, sort: TokenSort) {
  return useInfiniteQuery({
    queryKey: tokenKeys.list(subject, sort),
    initialPageParam: tokensUrl(subject, sort),
    queryFn: ({ pageParam, signal }) => fetchPage(pageParam, signal),
    getNextPageParam: (last) => last.next,
    placeholderData: (previous) => previous,
  })
}

/** How many tokens are active (one-row request, the count is in X-Total-Count). */
export function useTokenCount() {
  return useQuery({
    queryKey: tokenKeys.count,
    queryFn: async ({ signal }) => (await fetchPage(tokensUrl('', 'created', 1), signal)).total,
  })
}

export function createToken(subject: string, scopes: string[]): Promise<CreatedToken> {
  return api.post<CreatedToken>('/api/tokens', { subject, scopes })
}

export function revokeToken(tokenId: string): Promise<void> {
  return api.delete<void>(`/api/tokens/${encodeURIComponent(tokenId)}`)
}

/** Removes a revoked token from every cached list, so its row disappears at once. */
export function removeTokenFromCache(queryClient: QueryClient, tokenId: string) {
  queryClient.setQueriesData<InfiniteData<TokenPage, string>>({ queryKey: tokenKeys.lists }, (data) => {
    if (!data) return data
    let removed = false
    const pages = data.pages.map((page) => {
      const tokens = page.tokens.filter((t) => t.tokenId !== tokenId)
      if (tokens.length !== page.tokens.length) removed = true
      return { ...page, tokens }
    })
    if (!removed) return data
    return { ...data, pages: pages.map((page) => ({ ...page, total: Math.max(0, page.total - 1) })) }
  })
  void queryClient.invalidateQueries({ queryKey: tokenKeys.count })
}

/** Why a subject is not acceptable, or undefined when it is (the server checks the same). */
export function validateSubject(raw: string): string | undefined {
  const subject = raw.trim()
  if (subject === '') return 'Enter a subject: the name of the service or application that will use the token.'
  if ([...subject].length > 100) return `The subject is too long: ${[...subject].length} characters, at most 100.`
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(subject)) return 'The subject must not contain control characters such as tabs or line breaks.'
  return undefined
}
