import { useId } from 'react'

interface SelectFieldProps {
  label: string
  value: string
  onChange: (value: string) => void
  options: readonly { value: string; label: string }[]
  /** The select's own classes: `field-input w-auto` keeps it as wide as its longest option. */
  selectClassName?: string
}

/** A labelled select above its choices: a list's sort or filter. */
export function SelectField({ label, value, onChange, options, selectClassName = 'field-input' }: SelectFieldProps) {
  const id = useId()
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-sm font-medium">
        {label}
      </label>
      <select id={id} className={selectClassName} value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  )
}
