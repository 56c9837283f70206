import { Link } from 'react-router'
import { Loaded } from '../../../components/ui/Loaded'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { EXPIRING_SOON_DAYS, expiryStatus } from '../../../lib/time'
import { useNow } from '../../../lib/useNow'
import { EXPIRING_LISTED, useSoonestExpiring } from '../api/tokens'

/** The active tokens that expire within 30 days, soonest first, for the Administration page. */
export function ExpiringTokens() {
  const query = useSoonestExpiring()
  const now = useNow()
  return (
    <div className="space-y-2">
      <h3 className="text-sm font-semibold">Expiring within {EXPIRING_SOON_DAYS} days</h3>
      <Loaded query={query} failed="Could not load the tokens">
        {(page) => {
          const soon = page.items.filter((t) => expiryStatus(t.expires, now) === 'soon')
          if (soon.length === 0) return <p className="muted text-sm">No active token expires within {EXPIRING_SOON_DAYS} days.</p>
          return (
            <>
              <ul className="divide-y divide-slate-200 text-sm dark:divide-slate-800" aria-label="Tokens expiring soon">
                {soon.map((t) => (
                  <li key={t.tokenId} className="flex flex-wrap items-baseline justify-between gap-x-4 py-1.5">
                    <span className="min-w-0">
                      <Link className="link font-medium break-all" to={`/admin/service-users/${t.serviceUserId}`}>
                        {t.sub}
                      </Link>
                      {t.description && <span className="muted block text-xs break-words">{t.description}</span>}
                    </span>
                    <span className="text-xs whitespace-nowrap">
                      expires <RelativeTime value={t.expires} now={now} />
                    </span>
                  </li>
                ))}
              </ul>
              {soon.length === EXPIRING_LISTED && (
                <Link className="link text-sm" to="/admin/service-tokens?sort=expires">
                  All tokens by expiry
                </Link>
              )}
            </>
          )
        }}
      </Loaded>
    </div>
  )
}
