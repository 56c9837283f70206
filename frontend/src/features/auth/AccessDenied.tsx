import { loginUrl } from './session'

/** Where the server sends a user who signed in but is not an administrator. */
export const ACCESS_DENIED_PATH = '/access-denied'

export function AccessDenied() {
  return (
    <section aria-labelledby="access-denied-heading">
      <h2 id="access-denied-heading">Access denied</h2>
      <p>
        Your account signed in successfully, but it is not a CodeMetrics administrator. Administrator access is
        granted in your identity provider (the ADMIN_GROUPS or ADMIN_EMAILS settings).
      </p>
      <p>
        <a href={loginUrl({ pathname: '/', search: '' })}>Sign in with a different account</a>
      </p>
    </section>
  )
}
