import type { ReactNode } from 'react'
import { ShieldX } from 'lucide-react'
import { MessageCard } from '../../../components/layout/MessageCard'
import { loginUrl } from '../api/session'

/** Where the server sends a user who signed in but is not an administrator. */
export const ACCESS_DENIED_PATH = '/access-denied'

export function AccessDenied({ children }: { children?: ReactNode }) {
  return (
    <MessageCard icon={ShieldX} iconClassName="size-8 text-red-700 dark:text-red-400" title="Access denied">
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
    </MessageCard>
  )
}
