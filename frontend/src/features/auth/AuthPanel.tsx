import { useEffect, useState } from 'react'
import { errorMessage } from '../../lib/api'
import { copySessionToken, loginUrl, signOut } from './session'
import { useMe, type Me } from './useMe'

export function AuthPanel() {
  const state = useMe()

  switch (state.status) {
    case 'loading':
      return <p className="muted">Loading…</p>
    case 'signed-out':
      return (
        <p>
          <a className="button" href={loginUrl()}>
            Sign in
          </a>
        </p>
      )
    case 'error':
      return (
        <p className="error" role="alert">
          Could not load your session: {errorMessage(state.error)}
        </p>
      )
    case 'signed-in':
      return <SignedIn me={state.me} />
  }
}

function SignedIn({ me }: { me: Me }) {
  const [error, setError] = useState<string>()

  async function handleSignOut() {
    setError(undefined)
    try {
      await signOut()
    } catch (err) {
      setError(`Sign out failed: ${errorMessage(err)}`)
    }
  }

  return (
    <section className="panel" aria-label="Session">
      <p>
        Signed in as <strong>{me.name}</strong> ({me.email})
      </p>
      {me.isAdmin ? (
        <CopySessionToken />
      ) : (
        <p className="error" role="alert">
          Access denied. Your account is not a CodeMetrics administrator. Administrator access is
          granted through your identity provider; ask its administrator to add you to the CodeMetrics
          administrators group.
        </p>
      )}
      <p>
        <button type="button" className="secondary" onClick={handleSignOut}>
          Sign out
        </button>
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  )
}

type CopyState = { status: 'idle' } | { status: 'copying' } | { status: 'copied' } | { status: 'failed'; message: string }

function CopySessionToken() {
  const [copy, setCopy] = useState<CopyState>({ status: 'idle' })

  useEffect(() => {
    if (copy.status !== 'copied') return
    const timer = window.setTimeout(() => setCopy({ status: 'idle' }), 5000)
    return () => window.clearTimeout(timer)
  }, [copy])

  async function handleCopy() {
    setCopy({ status: 'copying' })
    try {
      await copySessionToken()
      setCopy({ status: 'copied' })
    } catch (err) {
      setCopy({ status: 'failed', message: errorMessage(err) })
    }
  }

  return (
    <div>
      <p>
        <button type="button" onClick={handleCopy} disabled={copy.status === 'copying'}>
          Copy session token
        </button>{' '}
        <span role="status" className="success">
          {copy.status === 'copied' ? 'Copied' : ''}
        </span>
      </p>
      {copy.status === 'failed' && (
        <p className="error" role="alert">
          Could not copy the session token: {copy.message}
        </p>
      )}
    </div>
  )
}
