import { useEffect, useState } from 'react'
import { Check, Copy } from 'lucide-react'

type CopyState = 'idle' | 'copied' | 'failed'

interface CopyButtonProps {
  /** Returns the text to copy; called on click, so secrets need not be held by the caller's parent. */
  text: () => string | Promise<string>
  label?: string
  className?: string
}

/** Copies to the clipboard and says "Copied" for a few seconds. */
export function CopyButton({ text, label = 'Copy', className = 'btn-secondary' }: CopyButtonProps) {
  const [state, setState] = useState<CopyState>('idle')

  useEffect(() => {
    if (state === 'idle') return
    const timer = window.setTimeout(() => setState('idle'), 4000)
    return () => window.clearTimeout(timer)
  }, [state])

  async function copy() {
    try {
      await navigator.clipboard.writeText(await text())
      setState('copied')
    } catch {
      setState('failed')
    }
  }

  return (
    <span className="inline-flex items-center gap-2">
      <button type="button" className={className} onClick={() => void copy()}>
        {state === 'copied' ? <Check aria-hidden="true" className="size-4" /> : <Copy aria-hidden="true" className="size-4" />}
        {label}
      </button>
      <span role="status" className="text-sm font-medium text-green-700 dark:text-green-400">
        {state === 'copied' ? 'Copied' : ''}
      </span>
      {state === 'failed' && (
        <span role="alert" className="text-sm text-red-700 dark:text-red-400">
          Could not copy: select the text and copy it by hand.
        </span>
      )}
    </span>
  )
}
