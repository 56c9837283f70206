import { useEffect, useState } from 'react'
import { Trash2 } from 'lucide-react'
import { Alert } from '../../../components/ui/Alert'
import { ConfirmDialog } from '../../../components/ui/ConfirmDialog'
import { errorMessage } from '../../../lib/api'
import { revokeTokens, type BulkRevokeResult } from '../api/tokens'
import { RevocationReasonField } from './RevocationReasonField'


/** How many of the selected tokens the dialog names. */
export const NAMED = 5

export interface SelectedToken {
  tokenId: string
  sub: string
}

interface BulkRevokeDialogProps {
  tokens: SelectedToken[]
  onClose: () => void
  /** Called with what the revocation did, once it is done. */
  onRevoked: (result: BulkRevokeResult) => void
}

/** "3 revoked, 1 had already ended, 1 not found". */
export function outcomeText(result: BulkRevokeResult): string {
  const count = (status: string) => result.results.filter((r) => r.status === status).length
  const parts = [`${result.revoked} ${result.dryRun ? 'to revoke' : 'revoked'}`]
  const ended = count('already_ended')
  const missing = count('not_found')
  if (ended) parts.push(`${ended} already ended`)
  if (missing) parts.push(`${missing} not found`)
  return parts.join(', ')
}

/**
 * Confirms revoking many tokens at once: how many, the first names, and (from a dry run) how many
 * are still active and will really stop working.
 */
export function BulkRevokeDialog({ tokens, onClose, onRevoked }: BulkRevokeDialogProps) {
  const [reason, setReason] = useState('')
  const [preview, setPreview] = useState<BulkRevokeResult>()
  const [previewError, setPreviewError] = useState<string>()
  const ids = tokens.map((t) => t.tokenId)
  const key = ids.join(',')

  useEffect(() => {
    let live = true
    revokeTokens(key.split(','), '', true).then(
      (r) => live && setPreview(r),
      (err: unknown) => live && setPreviewError(errorMessage(err)),
    )
    return () => {
      live = false
    }
  }, [key])

  const n = tokens.length
  const rest = n - NAMED
  return (
    <ConfirmDialog
      title={`Revoke ${n} service ${n === 1 ? 'token' : 'tokens'}`}
      size="lg"
      onClose={onClose}
      onConfirm={async () => onRevoked(await revokeTokens(ids, reason.trim(), false))}
      icon={Trash2}
      confirmLabel={`Revoke ${n === 1 ? 'token' : 'tokens'}`}
      busyLabel="Revoking…"
      failure="The tokens were not revoked"
    >
      <div className="space-y-1">
        <p>
          {n === 1 ? 'This token' : `These ${n} tokens`} will be revoked:{' '}
          {tokens.slice(0, NAMED).map((t, i) => (
            <span key={t.tokenId}>
              {i > 0 && ', '}
              <strong className="break-all">{t.sub}</strong>
            </span>
          ))}
          {rest > 0 && ` and ${rest} more`}.
        </p>
        {preview ? (
          <p role="status">Checked just now: {outcomeText(preview)}.</p>
        ) : previewError ? (
          <p role="status">Could not check them first: {previewError}</p>
        ) : (
          <p role="status" className="muted">
            Checking which are still active…
          </p>
        )}
      </div>

      <Alert tone="error" title="Revocation is immediate and cannot be undone">
        <p>
          Every system using one of these tokens gets <code className="font-mono">401 Unauthorized</code> from now on,
          on every instance within a second.
        </p>
      </Alert>

      <RevocationReasonField value={reason} onChange={setReason} many />
    </ConfirmDialog>
  )
}
