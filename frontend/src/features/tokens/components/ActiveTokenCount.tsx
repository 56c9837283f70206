import { CountLine } from '../../../components/ui/CountLine'
import { useTokenCount } from '../api/tokens'

/** How many service tokens are active, as one line of text for the Administration page. */
export function ActiveTokenCount() {
  return <CountLine count={useTokenCount()} noun={['active token', 'active tokens']} />
}
