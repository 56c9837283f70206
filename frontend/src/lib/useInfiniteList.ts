// The portal's one way to read a list of the API, a page at a time.
//
// Every list (GET /api/tokens, /api/pipeline/runs, /api/audit-events) pages the same way: the
// body is the page (a JSON array), the `Link` header's rel="next" holds the next page's URL
// with its opaque `cursor`, and `X-Total-Count` (where the list sends it) counts every item.

import { useInfiniteQuery, useQuery, type InfiniteData, type QueryKey } from '@tanstack/react-query'
import { nextLink, okWithHeaders } from './api'

/** One page of a list. */
export interface ListPage<T> {
  items: T[]
  /** How many items the filter selects (X-Total-Count), on the lists that say. */
  total?: number
  /** The cursor of the next page; undefined on the last page. */
  next?: string
}

/** The pages fetched so far, with their items in order and the latest total. */
export type InfiniteList<T> = InfiniteData<ListPage<T>, string | undefined> & { items: T[]; total?: number }

/** What an openapi-fetch call of a list resolves to. */
type ListResult<T> = Promise<{ data?: T[]; error?: unknown; response: Response }>

/** The `cursor` of the `rel="next"` link of a Link header, if any. */
export function nextCursor(headers: Headers): string | undefined {
  const next = nextLink(headers.get('Link'))
  return next ? (new URL(next, window.location.origin).searchParams.get('cursor') ?? undefined) : undefined
}

/** Reads one page out of a list response; throws an ApiError for a non-2xx one. */
export async function fetchListPage<T>(pending: ListResult<T>): Promise<ListPage<T>> {
  const { data, headers } = await okWithHeaders(pending)
  const count = headers.get('X-Total-Count')
  const total = count === null ? NaN : Number(count)
  return { items: data, total: Number.isFinite(total) ? total : undefined, next: nextCursor(headers) }
}

function flatten<T>(data: InfiniteData<ListPage<T>, string | undefined>): InfiniteList<T> {
  return { ...data, items: data.pages.flatMap((p) => p.items), total: data.pages.at(-1)?.total }
}

/**
 * A list of the API as an infinite query: `fetchPage(cursor, signal)` requests the page at
 * `cursor` (undefined for the first) with the list's own filter; `data.items` has every item
 * fetched so far, and `fetchNextPage` (see LoadMoreButton) follows the Link header. While the
 * filter (the key) changes, the previous list stays on screen.
 */
export function useInfiniteList<T>(
  queryKey: QueryKey,
  fetchPage: (cursor: string | undefined, signal: AbortSignal) => ListResult<T>,
) {
  return useInfiniteQuery({
    queryKey,
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) => fetchListPage(fetchPage(pageParam, signal)),
    getNextPageParam: (last: ListPage<T>) => last.next,
    select: flatten<T>,
    placeholderData: (previous) => previous,
  })
}

/**
 * How many items a list's filter selects, from a one-item page: its X-Total-Count (or, on a list
 * that does not send it, the page's own length).
 */
export function useListCount<T>(queryKey: QueryKey, fetchFirst: (signal: AbortSignal) => ListResult<T>) {
  return useQuery({
    queryKey,
    queryFn: async ({ signal }) => {
      const page = await fetchListPage(fetchFirst(signal))
      return page.total ?? page.items.length
    },
  })
}
