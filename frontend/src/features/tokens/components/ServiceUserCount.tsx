import { CountLine } from '../../../components/ui/CountLine'
import { useServiceUserCount } from '../api/serviceUsers'

/** How many service users there are, as one line of text for the Administration page. */
export function ServiceUserCount() {
  return <CountLine count={useServiceUserCount()} noun={['service user', 'service users']} />
}
