import { AppShell } from '../components/layout/AppShell'
import { PublicFrame } from '../components/layout/PublicFrame'
import { Alert } from '../components/ui/Alert'
import { Spinner } from '../components/ui/Spinner'
import { ApiError, errorMessage } from '../lib/api'
import { useMe } from '../features/auth/api/session'
import { AccessDenied } from '../features/auth/components/AccessDenied'
import { SignInPrompt } from '../features/auth/components/SignInPrompt'
import { SignOutButton, UserMenu } from '../features/auth/components/UserMenu'

/**
 * Only administrators see the portal. A signed-out visitor gets a sign-in link that brings
 * them back to the page they asked for; a signed-in non-administrator is told why not.
 */
export function AuthGate() {
  const me = useMe()

  if (me.isPending) {
    return (
      <PublicFrame>
        <Spinner />
      </PublicFrame>
    )
  }
  if (me.isError) {
    if (me.error instanceof ApiError && me.error.status === 401) {
      return (
        <PublicFrame>
          <SignInPrompt />
        </PublicFrame>
      )
    }
    return (
      <PublicFrame>
        <Alert tone="error" role="alert" title="CodeMetrics is not available">
          <p>Could not load your session: {errorMessage(me.error)}</p>
        </Alert>
      </PublicFrame>
    )
  }
  if (!me.data.isAdmin) {
    return (
      <PublicFrame>
        <AccessDenied>
          <SignOutButton className="btn-secondary" />
        </AccessDenied>
      </PublicFrame>
    )
  }
  return <AppShell userMenu={<UserMenu me={me.data} />} />
}
