import type { ReactNode } from 'react'
import type { InfiniteList } from '../../lib/useInfiniteList'
import { LoadError } from './LoadError'
import { LoadMoreButton } from './LoadMoreButton'
import { Spinner } from './Spinner'

/** What PagedList reads of a useInfiniteList result. */
interface ListQuery<T> {
  isPending: boolean
  isError: boolean
  error: unknown
  refetch: () => Promise<unknown>
  data: InfiniteList<T> | undefined
  isFetching: boolean
  isFetchingNextPage: boolean
  hasNextPage: boolean
  fetchNextPage: () => Promise<unknown>
}

interface PagedListProps<T> {
  query: ListQuery<T>
  /** The spinner's words while the first page loads. */
  loading: string
  /** The title of the error when it does not load ("Could not load the tokens"). */
  failed: string
  /** What to show when the list is empty. */
  empty: ReactNode
  /** Names the items in "Showing 3 of 12 tokens" under the list; without it, only "Load more". */
  noun?: readonly [one: string, many: string]
  /** The items fetched so far, drawn (a table). */
  children: (items: T[]) => ReactNode
}

/**
 * A list of the API, a page at a time, in each of its states: loading, failed (with "Try again"),
 * empty, or its items with how many there are and "Load more".
 */
export function PagedList<T>({ query, loading, failed, empty, noun, children }: PagedListProps<T>) {
  if (query.isPending) return <Spinner label={loading} />
  if (query.isError) return <LoadError title={failed} error={query.error} onRetry={() => void query.refetch()} />
  const items = query.data?.items ?? []
  if (items.length === 0) return <>{empty}</>
  if (!noun) {
    return (
      <>
        {children(items)}
        <div className="flex justify-end">
          <LoadMoreButton query={query} />
        </div>
      </>
    )
  }
  const total = query.data?.total
  const of = total === undefined ? '' : ` of ${total.toLocaleString('en')}`
  const updating = query.isFetching && !query.isFetchingNextPage ? ' (updating…)' : ''
  return (
    <>
      {children(items)}
      <div className="mt-3 flex flex-wrap items-center justify-between gap-3 text-sm">
        <p className="muted">
          {`Showing ${items.length.toLocaleString('en')}${of} ${(total ?? items.length) === 1 ? noun[0] : noun[1]}${updating}`}
        </p>
        <LoadMoreButton query={query} />
      </div>
    </>
  )
}
