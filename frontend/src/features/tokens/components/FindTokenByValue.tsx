import { useId, useState, type FormEvent } from 'react'
import { ArrowRight, Search } from 'lucide-react'
import { Link } from 'react-router'
import { Alert } from '../../../components/ui/Alert'
import { Badge } from '../../../components/ui/Badge'
import { errorMessage } from '../../../lib/api'
import { identifyToken, tokenPath, type IdentifiedToken } from '../api/tokens'

type Outcome = { kind: 'found'; token: IdentifiedToken } | { kind: 'unknown' } | { kind: 'error'; message: string }

const statusTone = { active: 'success', rotated: 'info', expired: 'neutral', revoked: 'danger' } as const

/**
 * "Find a token by its value": an administrator pastes a token found somewhere (a log, a
 * repository) and sees which token it is, active or ended. The value lives only in this form's
 * state while it is typed; it is sent in a POST body and cleared once the answer arrives.
 */
export function FindTokenByValue() {
  const [value, setValue] = useState('')
  const [busy, setBusy] = useState(false)
  const [outcome, setOutcome] = useState<Outcome | null>(null)
  const fieldId = useId()
  const hintId = useId()

  async function onSubmit(e: FormEvent) {
    e.preventDefault()
    if (value.trim() === '' || busy) return
    setBusy(true)
    try {
      const token = await identifyToken(value)
      setOutcome(token ? { kind: 'found', token } : { kind: 'unknown' })
    } catch (err) {
      setOutcome({ kind: 'error', message: errorMessage(err) })
    } finally {
      setValue('') // forget the value: it is not needed any more
      setBusy(false)
    }
  }

  return (
    <section aria-labelledby={`${fieldId}-title`} className="card space-y-3">
      <h2 id={`${fieldId}-title`} className="font-semibold">
        Find a token by its value
      </h2>
      <form className="flex flex-wrap items-end gap-3" onSubmit={(e) => void onSubmit(e)}>
        <div className="min-w-64 flex-1 space-y-1">
          <label htmlFor={fieldId} className="block text-sm font-medium">
            Token value
          </label>
          <input
            id={fieldId}
            type="password"
            className="field-input font-mono"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            placeholder="eyJ…"
            autoComplete="off"
            spellCheck={false}
            aria-describedby={hintId}
          />
          <p id={hintId} className="muted text-xs">
            Paste a token found in a log or a repository to see which one it is. The value is checked, never stored.
          </p>
        </div>
        <button type="submit" className="btn-secondary" disabled={busy || value.trim() === ''}>
          <Search aria-hidden="true" className="size-4" />
          {busy ? 'Looking…' : 'Find token'}
        </button>
      </form>
      <div role="status" aria-live="polite" className="empty:hidden">
        {outcome?.kind === 'found' && <FoundToken token={outcome.token} />}
        {outcome?.kind === 'unknown' && (
          <Alert tone="info" title="Not a token of this CodeMetrics">
            <p>Its signature does not verify with this server's keys, or no token has its id.</p>
          </Alert>
        )}
        {outcome?.kind === 'error' && (
          <Alert tone="error" title="Could not look the token up">
            <p>{outcome.message}</p>
          </Alert>
        )}
      </div>
    </section>
  )
}

function FoundToken({ token }: { token: IdentifiedToken }) {
  return (
    <div className="space-y-3">
      <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm">
        <dt className="muted">Status</dt>
        <dd>
          <Badge tone={statusTone[token.status]}>{token.status}</Badge>
          {token.revocationReason && <span className="ml-2">Reason: {token.revocationReason}</span>}
        </dd>
        <dt className="muted">Token id</dt>
        <dd className="font-mono break-all">{token.tokenId}</dd>
        <dt className="muted">Subject</dt>
        <dd>
          <Link className="link break-all" to={`/admin/service-users/${token.serviceUserId}`}>
            {token.sub}
          </Link>
        </dd>
        <dt className="muted">Created</dt>
        <dd>
          {token.created} by {token.createdBy}
        </dd>
        <dt className="muted">Expires</dt>
        <dd>{token.expires}</dd>
        <dt className="muted">Last used</dt>
        <dd>{token.lastUsed ?? 'never'}</dd>
        {token.revokedBy && (
          <>
            <dt className="muted">Revoked by</dt>
            <dd>{token.revokedBy}</dd>
          </>
        )}
      </dl>
      <Link className="btn-secondary" to={tokenPath(token.tokenId)}>
        Open token page
        <ArrowRight aria-hidden="true" className="size-4" />
      </Link>
    </div>
  )
}
