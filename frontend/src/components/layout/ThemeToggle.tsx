import { useSyncExternalStore } from 'react'
import { Moon, Sun } from 'lucide-react'
import { currentTheme, setTheme, subscribeTheme } from '../../lib/theme'

/** Switches between the light and dark theme; the choice is remembered. */
export function ThemeToggle() {
  const theme = useSyncExternalStore(subscribeTheme, currentTheme, () => 'light' as const)
  const next = theme === 'dark' ? 'light' : 'dark'
  return (
    <button
      type="button"
      className="btn-ghost p-2"
      aria-label={`Switch to ${next} theme`}
      title={`Switch to ${next} theme`}
      onClick={() => setTheme(next)}
    >
      {theme === 'dark' ? <Sun aria-hidden="true" className="size-5" /> : <Moon aria-hidden="true" className="size-5" />}
    </button>
  )
}
