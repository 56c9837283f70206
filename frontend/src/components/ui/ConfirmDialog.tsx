import { useState, type ReactNode } from 'react'
import type { LucideIcon } from 'lucide-react'
import { errorMessage } from '../../lib/api'
import { Alert } from './Alert'
import { Dialog } from './Dialog'
import { DialogFooter } from './DialogFooter'

interface ConfirmDialogProps {
  title: string
  size?: 'md' | 'lg'
  /** What is about to happen: the item, the warnings, what depends on it. */
  children: ReactNode
  /** Does it; what it throws is shown under `failure`, and the dialog stays open to try again. */
  onConfirm: () => Promise<void>
  onClose: () => void
  /** The action's button: its icon, its words, and its words while it runs ("Revoking…"). */
  icon: LucideIcon
  confirmLabel: string
  busyLabel: string
  /** Red for what cannot be undone, blue for the rest. */
  tone?: 'danger' | 'primary'
  /** The title of the error: "The token was not revoked". */
  failure: string
}

/**
 * Asks before an action on one item: says what it does, runs it, and shows why it failed. Cancel
 * has the focus, so Enter alone never destroys anything; Escape cannot close it while it runs.
 */
export function ConfirmDialog({
  title,
  size,
  children,
  onConfirm,
  onClose,
  icon: Icon,
  confirmLabel,
  busyLabel,
  tone = 'danger',
  failure,
}: ConfirmDialogProps) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()

  async function confirm() {
    setBusy(true)
    setError(undefined)
    try {
      await onConfirm()
    } catch (err) {
      setError(errorMessage(err))
      setBusy(false)
    }
  }

  return (
    <Dialog title={title} onClose={onClose} busy={busy} size={size}>
      <div className="space-y-4 text-sm">
        {children}
        {error && (
          <Alert tone="error" role="alert" title={failure}>
            <p>{error}</p>
          </Alert>
        )}
        <DialogFooter>
          <button type="button" className="btn-secondary" data-autofocus onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button
            type="button"
            className={tone === 'danger' ? 'btn-danger' : 'btn-primary'}
            onClick={() => void confirm()}
            disabled={busy}
          >
            <Icon aria-hidden="true" className="size-4" />
            {busy ? busyLabel : confirmLabel}
          </button>
        </DialogFooter>
      </div>
    </Dialog>
  )
}
