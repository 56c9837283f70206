import type { ReactNode } from 'react'
import { errorMessage } from '../../lib/api'
import { Alert } from './Alert'
import { Spinner } from './Spinner'

interface LoadedProps<T> {
  /** A query (TanStack Query's result). */
  query: { isPending: boolean; isError: boolean; error: unknown; data: T | undefined }
  /** The error's first words: "Could not load the settings" (the server's message follows). */
  failed: string
  children: (data: T) => ReactNode
}

/** A part of a page that needs one query: a spinner, then its content or why it could not be loaded. */
export function Loaded<T>({ query, failed, children }: LoadedProps<T>) {
  if (query.isPending) return <Spinner />
  if (query.isError || query.data === undefined) {
    return (
      <Alert tone="error" role="alert">
        <p>
          {failed}: {errorMessage(query.error)}
        </p>
      </Alert>
    )
  }
  return <>{children(query.data)}</>
}
