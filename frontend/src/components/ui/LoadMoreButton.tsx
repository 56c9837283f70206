interface LoadMoreButtonProps {
  /** The paged query: TanStack Query's useInfiniteQuery result. */
  query: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => Promise<unknown> }
}

/** "Load more" for a paged list; nothing when there is no next page. */
export function LoadMoreButton({ query }: LoadMoreButtonProps) {
  if (!query.hasNextPage) return null
  return (
    <button
      type="button"
      className="btn-secondary"
      onClick={() => void query.fetchNextPage()}
      disabled={query.isFetchingNextPage}
    >
      {query.isFetchingNextPage ? 'Loading…' : 'Load more'}
    </button>
  )
}
