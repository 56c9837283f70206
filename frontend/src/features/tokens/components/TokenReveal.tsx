import { useId, type ReactNode } from 'react'
import { Alert } from '../../../components/ui/Alert'
import { CopyButton } from '../../../components/ui/CopyButton'
import { DialogFooter } from '../../../components/ui/DialogFooter'

interface TokenRevealProps {
  /** The token value: shown here once, never kept anywhere else. */
  value: string
  /** What was made, above the warnings ("The token for ci-pipeline was created…"). */
  children: ReactNode
  onDone: () => void
}

/**
 * A new token's value, shown once with what to do with it: the warnings, a copy button and a
 * ready-to-paste curl call. Creation and rotation both end here.
 */
export function TokenReveal({ value, children, onDone }: TokenRevealProps) {
  const valueId = useId()
  const curl = `curl -H "Authorization: Bearer $CODEMETRICS_TOKEN" \\\n     ${window.location.origin}/api/system/config`

  return (
    <div className="space-y-5">
      <div className="space-y-2 text-sm">{children}</div>

      <Alert tone="warning" title="This token is shown only once">
        <ul className="list-disc space-y-0.5 pl-4">
          <li>Copy it now: it cannot be retrieved again, not even by an administrator.</li>
          <li>Store it securely, in a secret manager or an environment variable.</li>
          <li>Never commit it to a source code repository or paste it into tickets or chats.</li>
        </ul>
      </Alert>

      <div className="space-y-2">
        <label htmlFor={valueId} className="block text-sm font-medium">
          Service token
        </label>
        <textarea
          id={valueId}
          readOnly
          rows={3}
          value={value}
          onFocus={(e) => e.currentTarget.select()}
          className="field-input resize-none font-mono text-xs break-all"
          spellCheck={false}
        />
        <CopyButton text={() => value} label="Copy token" className="btn-primary" />
      </div>

      <div className="space-y-2">
        <h3 className="text-sm font-medium">Try it</h3>
        <p className="muted text-xs">
          With the token in the <code className="font-mono">CODEMETRICS_TOKEN</code> environment variable:
        </p>
        <pre className="code-block">
          <code>{curl}</code>
        </pre>
        <CopyButton text={() => curl} label="Copy example" />
      </div>

      <DialogFooter>
        <button type="button" className="btn-secondary" onClick={onDone}>
          Done
        </button>
      </DialogFooter>
    </div>
  )
}
