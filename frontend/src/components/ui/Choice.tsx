import type { ReactNode } from 'react'

interface ChoiceProps {
  type: 'radio' | 'checkbox'
  /** The radio group's name. */
  name?: string
  checked: boolean
  onChange: (checked: boolean) => void
  disabled?: boolean
  /** The id of what explains the choice (a warning below it). */
  describedBy?: string
  /** Where the dialog starts. */
  startsHere?: boolean
  children: ReactNode
}

/** A radio button or checkbox with its label beside it. */
export function Choice({ type, name, checked, onChange, disabled, describedBy, startsHere, children }: ChoiceProps) {
  return (
    <label className="flex items-start gap-2 text-sm">
      <input
        type={type}
        name={name}
        className="mt-1 size-4 accent-blue-700"
        checked={checked}
        disabled={disabled}
        data-autofocus={startsHere || undefined}
        onChange={(e) => onChange(e.target.checked)}
        aria-describedby={describedBy}
      />
      <span>{children}</span>
    </label>
  )
}
