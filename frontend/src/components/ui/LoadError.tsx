import { errorMessage } from '../../lib/api'
import { Alert } from './Alert'

interface LoadErrorProps {
  title: string
  error: unknown
  onRetry: () => void
}

/** A failed load: what went wrong, in the server's words, and a way to try again. */
export function LoadError({ title, error, onRetry }: LoadErrorProps) {
  return (
    <Alert tone="error" role="alert" title={title}>
      <p>{errorMessage(error)}</p>
      <button type="button" className="btn-secondary mt-2" onClick={onRetry}>
        Try again
      </button>
    </Alert>
  )
}
