import { exactTime, relativeTime } from '../../lib/time'
import { useNow } from '../../lib/useNow'

/** A date as "in 12 days" / "3 hours ago", with the exact time on hover. */
export function RelativeTime({ value, now }: { value: string; now?: Date }) {
  const tick = useNow()
  return (
    <time dateTime={value} title={exactTime(value)} className="cursor-help">
      {relativeTime(value, now ?? tick)}
    </time>
  )
}
