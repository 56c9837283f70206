import '@testing-library/jest-dom/vitest'
import { cleanup, configure } from '@testing-library/react'
import { afterEach, beforeEach, vi } from 'vitest'

// findBy*/waitFor give up after 1 s by default; on two loaded cores a lazily loaded chunk (the
// charts) can take longer than that. Only a failing wait runs to the limit.
configure({ asyncUtilTimeout: 5000 })

// jsdom has no layout: the chart library needs ResizeObserver to exist, and draws nothing at size 0.
// Before each test, as the config unstubs globals between tests.
beforeEach(() => {
  vi.stubGlobal(
    'ResizeObserver',
    class {
      observe() {}
      unobserve() {}
      disconnect() {}
    },
  )
})

afterEach(() => {
  cleanup()
  document.cookie.split(';').forEach((c) => {
    const name = c.split('=')[0]?.trim()
    if (name) document.cookie = `${name}=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/`
  })
  window.history.replaceState(null, '', '/')
})
