import { useCallback, useEffect, useState } from 'react'
import { useSearchParams } from 'react-router'
import { useDebouncedValue } from './useDebouncedValue'

/**
 * One parameter of the page's URL, as a value and a setter ('' removes it). The change replaces
 * the history entry, so filtering and sorting do not fill the back button, and leaves the other
 * parameters as they are now (read afresh, not as they were at the last render).
 */
export function useSearchParam(name: string): [string, (value: string) => void] {
  const [params, setParams] = useSearchParams()
  const value = params.get(name) ?? ''
  const set = useCallback(
    (next: string) =>
      setParams(
        () => {
          const p = new URLSearchParams(window.location.search)
          if (next) p.set(name, next)
          else p.delete(name)
          return p
        },
        { replace: true },
      ),
    [name, setParams],
  )
  return [value, set]
}

/**
 * A list's text filter kept in the URL parameter `name`: `text` is what the field holds,
 * `applied` what the URL (and so the list) says, which follows the text once typing pauses,
 * without a request per keystroke.
 */
export function useUrlFilter(name: string, delayMs = 250) {
  const [applied, apply] = useSearchParam(name)
  const [text, setText] = useState(applied)
  const settled = useDebouncedValue(text.trim(), delayMs)
  useEffect(() => {
    if (settled !== applied) apply(settled)
  }, [settled, applied, apply])
  return { applied, text, setText }
}
