import { TextField } from '../../../components/ui/TextField'

/** The longest reason the server keeps with a revocation. */
const MAX_REASON = 200

/** Why a token (or, `many`, each of several) is revoked: optional, kept with it and told onwards. */
export function RevocationReasonField({
  value,
  onChange,
  many = false,
}: {
  value: string
  onChange: (value: string) => void
  many?: boolean
}) {
  return (
    <TextField
      label="Reason"
      optional
      value={value}
      onChange={onChange}
      maxLength={MAX_REASON}
      hint={
        many
          ? 'Kept with each token, in the audit log and in the notifications: “leaked in a build log”, “pipelines retired”.'
          : 'Kept with the token, in the audit log and in the notification: “leaked in a build log”, “pipeline retired”.'
      }
    />
  )
}
