import { useCallback, useState, type ReactNode } from 'react'
import type { ServiceToken } from '../api/tokens'
import { RevokeTokenDialog } from './RevokeTokenDialog'
import { RotateTokenDialog } from './RotateTokenDialog'

/** What can be done to a token from its row. */
export type TokenAction = 'revoke' | 'rotate'

interface TokenActionsOptions {
  /** Says what was done, on the page. */
  onNotice: (notice: string) => void
  /** After the token changed: the page refreshes what it shows of it. */
  onChanged: (token: ServiceToken, action: TokenAction) => void
}

/**
 * The actions on a table's tokens: `onAction` for the rows opens the action's dialog, which
 * `dialog` is (render it anywhere on the page); once done, the page hears of it.
 */
export function useTokenActions({ onNotice, onChanged }: TokenActionsOptions): {
  onAction: (token: ServiceToken, action: TokenAction) => void
  dialog: ReactNode
} {
  const [acting, setActing] = useState<{ token: ServiceToken; action: TokenAction } | null>(null)
  const onAction = useCallback((token: ServiceToken, action: TokenAction) => setActing({ token, action }), [])
  const close = () => setActing(null)

  let dialog: ReactNode = null
  if (acting?.action === 'revoke') {
    dialog = (
      <RevokeTokenDialog
        token={acting.token}
        onClose={close}
        onRevoked={(token) => {
          close()
          onChanged(token, 'revoke')
          onNotice(`Revoked the token for “${token.sub}”. Calls made with it now get 401 Unauthorized.`)
        }}
      />
    )
  } else if (acting?.action === 'rotate') {
    // The dialog stays open on the new value until Done: the page refreshes behind it.
    dialog = (
      <RotateTokenDialog
        token={acting.token}
        onClose={close}
        onRotated={({ subject }) => {
          onChanged(acting.token, 'rotate')
          onNotice(`Rotated the token for “${subject}”: the old one keeps working until its grace period ends.`)
        }}
      />
    )
  }
  return { onAction, dialog }
}
