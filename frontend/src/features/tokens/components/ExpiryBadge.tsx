import { Clock } from 'lucide-react'
import { Badge } from '../../../components/ui/Badge'
import { expiryStatus } from '../../../lib/time'

/** "Expiring soon" within 30 days of expiry, "Expired" after; nothing otherwise. */
export function ExpiryBadge({ expires, now }: { expires: string; now: Date }) {
  const status = expiryStatus(expires, now)
  if (status === 'ok') return null
  return (
    <Badge tone={status === 'expired' ? 'danger' : 'warning'}>
      <Clock aria-hidden="true" className="size-3" />
      {status === 'expired' ? 'Expired' : 'Expiring soon'}
    </Badge>
  )
}
