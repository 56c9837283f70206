import { useEffect, useState } from 'react'
import { useLocation, useNavigate } from 'react-router'

/** A notice another page hands over when it comes here (a service user created, or deleted on its page). */
export interface NoticeState {
  notice?: string
}

/** The notice handed over in the location's state, shown once: a reload does not show it again. */
export function useHandedNotice(): [string, (notice: string) => void] {
  const location = useLocation()
  const navigate = useNavigate()
  const handed = (location.state as NoticeState | null)?.notice ?? ''
  const [notice, setNotice] = useState(handed)
  useEffect(() => {
    if (handed) void navigate({ pathname: location.pathname, search: location.search }, { replace: true, state: null })
  }, [handed, navigate, location.pathname, location.search])
  return [notice, setNotice]
}
