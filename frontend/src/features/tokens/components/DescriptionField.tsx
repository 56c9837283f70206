import { TextField } from '../../../components/ui/TextField'

interface DescriptionFieldProps {
  id: string
  value: string
  onChange: (value: string) => void
  error?: string
  hint?: string
  placeholder: string
  /** Where the form starts (editing a service user, whose name cannot change). */
  startsHere?: boolean
}

/** The optional description of a token or a service user (checkDescription says what is too long). */
export function DescriptionField({ id, value, onChange, error, hint, placeholder, startsHere }: DescriptionFieldProps) {
  return (
    <TextField
      id={id}
      data-autofocus={startsHere || undefined}
      label="Description"
      optional
      value={value}
      onChange={onChange}
      error={error}
      hint={hint}
      placeholder={placeholder}
    />
  )
}
