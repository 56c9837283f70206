import { KeyRound } from 'lucide-react'
import { useLocation } from 'react-router'
import { MessageCard } from '../../../components/layout/MessageCard'
import { loginUrl } from '../api/session'

/** Shown to a signed-out visitor: signing in brings them back to the page they asked for. */
export function SignInPrompt() {
  const location = useLocation()
  return (
    <MessageCard icon={KeyRound} iconClassName="size-7 text-blue-700 dark:text-blue-400" title="Administration Portal">
      <p>Sign in with your organisation's account to manage service tokens and review the audit log.</p>
      <p>
        <a className="btn-primary" href={loginUrl(location)}>
          Sign in
        </a>
      </p>
      <p className="muted text-sm">Only administrators can access the Administration Portal.</p>
    </MessageCard>
  )
}
