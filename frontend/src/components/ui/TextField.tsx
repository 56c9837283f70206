import { useId, type InputHTMLAttributes, type ReactNode } from 'react'

interface TextFieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'value' | 'onChange' | 'className'> {
  label: string
  /** Says "(optional)" after the label. */
  optional?: boolean
  value: string
  onChange: (value: string) => void
  /** Why the value is not acceptable: shown under the field, which is marked invalid and described by it. */
  error?: string
  /** What to type, under the field (and the error). */
  hint?: ReactNode
  /** The input's id, for a form that puts the focus there after a failed check. */
  id?: string
  /** More classes for the input ("font-mono"). */
  inputClassName?: string
  /** The wrapper's classes. */
  className?: string
  /** Shown below the hint: what the value means now (whose service user it names). */
  children?: ReactNode
}

/** A labelled one-line text input with its error and hint, tied to it for screen readers. */
export function TextField({
  label,
  optional = false,
  value,
  onChange,
  error,
  hint,
  id,
  inputClassName = '',
  className = 'space-y-1.5',
  children,
  ...input
}: TextFieldProps) {
  const ownId = useId()
  const inputId = id ?? ownId
  const errorId = useId()
  const hintId = useId()
  const describedBy = [error && errorId, hint && hintId].filter(Boolean).join(' ')
  return (
    <div className={className}>
      <label htmlFor={inputId} className="block text-sm font-medium">
        {label}
        {optional && <span className="muted font-normal"> (optional)</span>}
      </label>
      <input
        autoComplete="off"
        {...input}
        id={inputId}
        className={`field-input aria-invalid:border-red-600 dark:aria-invalid:border-red-400 ${inputClassName}`}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy || undefined}
      />
      {error && (
        <p id={errorId} className="text-sm font-medium text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
      {hint && (
        <p id={hintId} className="muted text-xs">
          {hint}
        </p>
      )}
      {children}
    </div>
  )
}
