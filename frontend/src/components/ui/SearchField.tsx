import { useId } from 'react'
import { Search } from 'lucide-react'

interface SearchFieldProps {
  label: string
  value: string
  onChange: (value: string) => void
  placeholder: string
  className?: string
}

/** A labelled search box with its magnifier: a list's text filter. */
export function SearchField({ label, value, onChange, placeholder, className = 'space-y-1' }: SearchFieldProps) {
  const id = useId()
  return (
    <div className={className}>
      <label htmlFor={id} className="block text-sm font-medium">
        {label}
      </label>
      <div className="relative">
        <Search aria-hidden="true" className="muted pointer-events-none absolute top-2.5 left-3 size-4" />
        <input
          id={id}
          type="search"
          className="field-input pl-9"
          value={value}
          onChange={(e) => onChange(e.target.value)}
          placeholder={placeholder}
          autoComplete="off"
        />
      </div>
    </div>
  )
}
