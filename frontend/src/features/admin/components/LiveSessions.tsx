import { useState } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { Alert } from '../../../components/ui/Alert'
import { Badge } from '../../../components/ui/Badge'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { Loaded } from '../../../components/ui/Loaded'
import { ApiError, errorMessage } from '../../../lib/api'
import { endSession, endSessionsOf, sessionsKey, useSessions, type AdminSession } from '../api/admin'

interface Person {
  identity: string
  sessions: AdminSession[]
}

/** Groups sessions by person (identity key), keeping the list's order (newest first). */
function byPerson(sessions: AdminSession[]): Person[] {
  const people = new Map<string, Person>()
  for (const s of sessions) {
    const key = s.identity || `session:${s.id}`
    const person = people.get(key) ?? { identity: s.identity, sessions: [] }
    person.sessions.push(s)
    people.set(key, person)
  }
  return [...people.values()]
}

function Email({ session }: { session: AdminSession }) {
  return (
    <span className="break-all">
      {session.email}
      {!session.emailVerified && (
        <>
          {' '}
          <Badge tone="warning">unverified</Badge>
        </>
      )}
    </span>
  )
}

function Via({ session }: { session: AdminSession }) {
  const parts: string[] = []
  if (session.lastCookieUse) parts.push('cookie')
  if (session.sessionTokensIssued > 0) {
    parts.push(`${session.sessionTokensIssued} session ${session.sessionTokensIssued === 1 ? 'token' : 'tokens'} taken`)
  }
  return (
    <span>
      {parts.join(', ') || '—'}
      {session.lastTokenUse && (
        <>
          {' '}
          (token last used <RelativeTime value={session.lastTokenUse} />)
        </>
      )}
    </span>
  )
}

/** The live administrator sessions, with "End session" per session and "End all" per person. */
export function LiveSessions() {
  const sessions = useSessions()
  const queryClient = useQueryClient()
  const [busy, setBusy] = useState<string>()
  const [message, setMessage] = useState<string>()
  const [error, setError] = useState<string>()

  async function run(key: string, action: () => Promise<string>) {
    setBusy(key)
    setError(undefined)
    setMessage(undefined)
    try {
      setMessage(await action())
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setMessage('That session had already ended.')
      else setError(errorMessage(err))
    } finally {
      setBusy(undefined)
      void queryClient.invalidateQueries({ queryKey: sessionsKey })
    }
  }

  const endOne = (s: AdminSession) =>
    run(s.id, async () => {
      await endSession(s.id)
      return `Ended session ${s.id.slice(0, 8)} of ${s.actor}.`
    })
  const endAll = (p: Person) =>
    run(p.identity, async () => {
      const n = await endSessionsOf(p.identity)
      return `Ended ${n} ${n === 1 ? 'session' : 'sessions'} of ${p.sessions[0]!.actor}.`
    })

  return (
    <div>
      <h3 className="mb-2 text-sm font-semibold">Live sessions</h3>
      <p className="muted mb-2 text-xs">
        Ending a session signs it out at once, in the browser and for every session token taken from it. An
        administrator withdrawn in the identity provider loses every session at their next sign-in attempt; end them
        here to act sooner.
      </p>
      {message && (
        <p role="status" className="mb-2 text-sm">
          {message}
        </p>
      )}
      {error && (
        <Alert tone="error" role="alert">
          <p>Could not end the session: {error}</p>
        </Alert>
      )}
      <Loaded query={sessions} failed="Could not load the live sessions">
        {(list) =>
          list.length === 0 ? (
            <p className="muted text-sm">No live sessions.</p>
          ) : (
            <ul className="divide-y divide-slate-200 text-sm dark:divide-slate-800">
              {byPerson(list).map((person) => {
                const first = person.sessions[0]!
                return (
                  <li key={person.identity || first.id} aria-label={first.actor} className="py-2">
                    <div className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1">
                      <span>
                        <span className="font-medium">{first.name || first.email}</span> <Email session={first} />
                        <span className="muted block text-xs break-all">{first.identity || 'no subject recorded'}</span>
                      </span>
                      {person.identity && (
                        <button
                          type="button"
                          className="btn-secondary text-xs"
                          disabled={busy !== undefined}
                          onClick={() => void endAll(person)}
                        >
                          End all sessions of this person
                        </button>
                      )}
                    </div>
                    <table className="mt-1 w-full text-xs">
                      <thead className="muted text-left">
                        <tr>
                          <th className="pr-3 font-normal">Session</th>
                          <th className="pr-3 font-normal">Signed in</th>
                          <th className="pr-3 font-normal">Last seen</th>
                          <th className="pr-3 font-normal">From</th>
                          <th className="pr-3 font-normal">Via</th>
                          <th className="font-normal">
                            <span className="sr-only">Actions</span>
                          </th>
                        </tr>
                      </thead>
                      <tbody>
                        {person.sessions.map((s) => (
                          <tr key={s.id}>
                            <td className="pr-3 font-mono">
                              {s.id.slice(0, 8)} {s.current && <Badge tone="info">this session</Badge>}
                            </td>
                            <td className="pr-3">
                              <RelativeTime value={s.signedIn} />
                            </td>
                            <td className="pr-3">
                              <RelativeTime value={s.lastSeen} />
                            </td>
                            <td className="pr-3 break-all">
                              {s.signInAddress || '—'}
                              {s.lastAddress && s.lastAddress !== s.signInAddress && <> / now {s.lastAddress}</>}
                            </td>
                            <td className="pr-3">
                              <Via session={s} />
                            </td>
                            <td className="text-right">
                              <button
                                type="button"
                                className="btn-danger text-xs"
                                disabled={busy !== undefined}
                                aria-label={`End session ${s.id.slice(0, 8)} of ${s.actor}`}
                                onClick={() => void endOne(s)}
                              >
                                End session
                              </button>
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </li>
                )
              })}
            </ul>
          )
        }
      </Loaded>
    </div>
  )
}
