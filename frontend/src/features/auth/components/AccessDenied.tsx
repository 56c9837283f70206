import type { ReactNode } from 'react'
import { ShieldX } from 'lucide-react'
import { loginUrl } from '../api/session'

/** Where the server sends a user who signed in but is not an administrator. */
export const ACCESS_DENIED_PATH = '/access-denied'

export function AccessDenied({ children }: { children?: ReactNode }) {
  return (
    <section aria-labelledby="access-denied-heading" className="card mx-auto max-w-lg space-y-4">
      <div className="flex items-center gap-3">
        <ShieldX aria-hidden="true" className="size-8 text-red-700 dark:text-red-400" />
        <h2 id="access-denied-heading" className="text-xl font-semibold">
          Access denied
        </h2>
      </div>
      <p>
        Your account signed in successfully, but it is not a CodeMetrics administrator. Administrator access is
        granted in your identity provider (the ADMIN_GROUPS or ADMIN_EMAILS settings).
      </p>
      <p className="muted text-sm">
        Ask the administrator of your identity provider to add you to a CodeMetrics administrators group.
      </p>
      <div className="flex flex-wrap gap-3">
        <a className="btn-primary" href={loginUrl({ pathname: '/', search: '' })}>
          Sign in with a different account
        </a>
        {children}
      </div>
    </section>
  )
}
