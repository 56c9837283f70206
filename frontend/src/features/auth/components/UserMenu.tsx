import { useEffect, useId, useRef, useState } from 'react'
import { ChevronDown, ClipboardCopy, LogOut, UserRound } from 'lucide-react'
import { errorMessage } from '../../../lib/api'
import { copySessionToken, signOut, type Me } from '../api/session'

type CopyState = { status: 'idle' } | { status: 'copying' } | { status: 'copied' } | { status: 'failed'; message: string }

/** Who is signed in, "Copy session token" and "Sign out", behind a disclosure button. */
export function UserMenu({ me }: { me: Me }) {
  const [open, setOpen] = useState(false)
  const panelId = useId()
  const rootRef = useRef<HTMLDivElement>(null)
  const buttonRef = useRef<HTMLButtonElement>(null)

  useEffect(() => {
    if (!open) return
    function onPointerDown(event: PointerEvent) {
      if (!rootRef.current?.contains(event.target as Node)) setOpen(false)
    }
    function onKeyDown(event: KeyboardEvent) {
      if (event.key === 'Escape') {
        setOpen(false)
        buttonRef.current?.focus()
      }
    }
    document.addEventListener('pointerdown', onPointerDown)
    document.addEventListener('keydown', onKeyDown)
    return () => {
      document.removeEventListener('pointerdown', onPointerDown)
      document.removeEventListener('keydown', onKeyDown)
    }
  }, [open])

  return (
    <div ref={rootRef} className="relative">
      <button
        ref={buttonRef}
        type="button"
        className="btn-ghost"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen((o) => !o)}
      >
        <UserRound aria-hidden="true" className="size-4" />
        <span className="max-w-40 truncate">{me.name || me.email}</span>
        <ChevronDown aria-hidden="true" className="size-4" />
      </button>
      <div
        id={panelId}
        hidden={!open}
        className="absolute right-0 z-20 mt-2 w-80 rounded-lg border border-slate-200 bg-white p-4 shadow-lg dark:border-slate-700 dark:bg-slate-900"
      >
        <p className="text-sm">
          Signed in as <strong>{me.name}</strong> ({me.email})
        </p>
        {me.adminReason && <p className="muted mt-1 text-xs">Administrator: {me.adminReason}</p>}
        <div className="mt-4 space-y-2 border-t border-slate-200 pt-4 dark:border-slate-700">
          {me.isAdmin && <CopySessionToken />}
          <SignOutButton />
        </div>
      </div>
    </div>
  )
}

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
      <div className="flex items-center gap-2">
        <button type="button" className="btn-secondary w-full justify-start" onClick={() => void handleCopy()} disabled={copy.status === 'copying'}>
          <ClipboardCopy aria-hidden="true" className="size-4" />
          Copy session token
        </button>
        <span role="status" className="text-sm font-medium text-green-700 dark:text-green-400">
          {copy.status === 'copied' ? 'Copied' : ''}
        </span>
      </div>
      <p className="muted mt-1 text-xs">A bearer token for the API that ends with your session.</p>
      {copy.status === 'failed' && (
        <p className="mt-1 text-sm text-red-700 dark:text-red-400" role="alert">
          Could not copy the session token: {copy.message}
        </p>
      )}
    </div>
  )
}

/** Signs out; exported for the access-denied page. */
export function SignOutButton({ className = 'btn-secondary w-full justify-start' }: { className?: string }) {
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
    <>
      <button type="button" className={className} onClick={() => void handleSignOut()}>
        <LogOut aria-hidden="true" className="size-4" />
        Sign out
      </button>
      {error && (
        <p className="text-sm text-red-700 dark:text-red-400" role="alert">
          {error}
        </p>
      )}
    </>
  )
}
