import { useEffect, useState } from 'react'
import { ApiError, api } from '../../lib/api'

/** The signed-in user, as returned by GET /api/auth/me. */
export interface Me {
  email: string
  name: string
  isAdmin: boolean
  expires: string
}

export type MeState =
  | { status: 'loading' }
  | { status: 'signed-out' }
  | { status: 'signed-in'; me: Me }
  | { status: 'error'; error: unknown }

/** Loads the current session once on mount. */
export function useMe(): MeState {
  const [state, setState] = useState<MeState>({ status: 'loading' })

  useEffect(() => {
    const controller = new AbortController()
    api
      .get<Me>('/api/auth/me', { signal: controller.signal })
      .then((me) => setState({ status: 'signed-in', me }))
      .catch((error: unknown) => {
        if (controller.signal.aborted) return
        if (error instanceof ApiError && error.status === 401) {
          setState({ status: 'signed-out' })
        } else {
          setState({ status: 'error', error })
        }
      })
    return () => controller.abort()
  }, [])

  return state
}
