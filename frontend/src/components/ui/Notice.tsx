import { Alert } from './Alert'

/** Where a page says what was just done ("Revoked the token…"): a polite live region, empty until then. */
export function Notice({ message }: { message: string }) {
  return (
    <div role="status" aria-live="polite" className="mb-4 empty:hidden">
      {message && (
        <Alert tone="success">
          <p>{message}</p>
        </Alert>
      )}
    </div>
  )
}
