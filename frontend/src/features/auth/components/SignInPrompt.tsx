import { KeyRound } from 'lucide-react'
import { useLocation } from 'react-router'
import { loginUrl } from '../api/session'

/** Shown to a signed-out visitor: signing in brings them back to the page they asked for. */
export function SignInPrompt() {
  const location = useLocation()
  return (
    <section aria-labelledby="sign-in-heading" className="card mx-auto max-w-lg space-y-4">
      <div className="flex items-center gap-3">
        <KeyRound aria-hidden="true" className="size-7 text-blue-700 dark:text-blue-400" />
        <h2 id="sign-in-heading" className="text-xl font-semibold">
          Administration Portal
        </h2>
      </div>
      <p>Sign in with your organisation's account to manage service tokens and review the audit log.</p>
      <p>
        <a className="btn-primary" href={loginUrl(location)}>
          Sign in
        </a>
      </p>
      <p className="muted text-sm">Only administrators can access the Administration Portal.</p>
    </section>
  )
}
