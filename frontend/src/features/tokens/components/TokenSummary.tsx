import type { ReactNode } from 'react'
import { Detail, Details } from '../../../components/ui/Details'
import type { ServiceToken } from '../api/tokens'

/** Which token a dialog acts on: its subject and id, then the facts the dialog adds. */
export function TokenSummary({ token, children }: { token: ServiceToken; children: ReactNode }) {
  return (
    <Details>
      <Detail label="Subject" className="font-medium break-all">
        {token.sub}
      </Detail>
      <Detail label="Token ID" className="font-mono text-xs break-all">
        {token.tokenId}
      </Detail>
      {children}
    </Details>
  )
}
