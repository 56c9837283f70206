// Light and dark themes: follow the system's prefers-color-scheme unless the user picked one,
// which is kept in localStorage. Applied from the bundle (no inline script, for the CSP).

export type Theme = 'light' | 'dark'

const STORAGE_KEY = 'codemetrics-theme'
const listeners = new Set<() => void>()

function systemTheme(): Theme {
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'
}

/** The theme the user chose, or undefined to follow the system. */
export function storedTheme(): Theme | undefined {
  try {
    const value = window.localStorage.getItem(STORAGE_KEY)
    return value === 'light' || value === 'dark' ? value : undefined
  } catch {
    return undefined
  }
}

/** The theme in force. */
export function currentTheme(): Theme {
  return storedTheme() ?? systemTheme()
}

function apply() {
  const theme = currentTheme()
  const root = document.documentElement
  root.classList.toggle('dark', theme === 'dark')
  root.style.colorScheme = theme
  listeners.forEach((listener) => listener())
}

/** Chooses a theme explicitly and remembers it. */
export function setTheme(theme: Theme) {
  try {
    window.localStorage.setItem(STORAGE_KEY, theme)
  } catch {
    // Storage unavailable: the choice lasts until reload.
  }
  apply()
}

/** Applies the theme now and whenever the system preference changes. */
export function initTheme() {
  apply()
  window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.('change', apply)
}

/** Subscribes to theme changes (for useSyncExternalStore). */
export function subscribeTheme(listener: () => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}
