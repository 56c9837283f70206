import { useId } from 'react'
import { PRESETS, lastDays, presetOf, type DateRange } from '../lib/dateRange'

interface DateRangePickerProps {
  value: DateRange
  now: Date
  error?: string
  onChange: (range: DateRange) => void
}

/** A preset ("Last 30 days") or any two days, in UTC like the metrics themselves. */
export function DateRangePicker({ value, now, error, onChange }: DateRangePickerProps) {
  const id = useId()
  const preset = presetOf(value, now)
  return (
    <fieldset className="flex flex-wrap items-end gap-3" aria-describedby={error ? `${id}-error` : `${id}-hint`}>
      <legend className="sr-only">Date range</legend>
      <div>
        <label htmlFor={`${id}-preset`} className="mb-1 block text-sm font-medium">
          Range
        </label>
        <select
          id={`${id}-preset`}
          className="field-input"
          value={preset ?? 'custom'}
          onChange={(e) => {
            if (e.target.value !== 'custom') onChange(lastDays(Number(e.target.value), now))
            else document.getElementById(`${id}-start`)?.focus()
          }}
        >
          {PRESETS.map((p) => (
            <option key={p.days} value={p.days}>
              {p.label}
            </option>
          ))}
          <option value="custom">Custom</option>
        </select>
      </div>
      <DateField
        id={`${id}-start`}
        label="From"
        value={value.start}
        max={value.end}
        invalid={!!error}
        onChange={(start) => onChange({ ...value, start })}
      />
      <DateField
        id={`${id}-end`}
        label="To"
        value={value.end}
        min={value.start}
        invalid={!!error}
        onChange={(end) => onChange({ ...value, end })}
      />
      {error ? (
        <p id={`${id}-error`} role="alert" className="w-full text-sm font-medium text-red-700 dark:text-red-400">
          {error}
        </p>
      ) : (
        <p id={`${id}-hint`} className="muted w-full text-xs">
          Days in UTC, both ends included.
        </p>
      )}
    </fieldset>
  )
}

interface DateFieldProps {
  id: string
  label: string
  value: string
  min?: string
  max?: string
  invalid: boolean
  onChange: (value: string) => void
}

function DateField({ id, label, value, min, max, invalid, onChange }: DateFieldProps) {
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {label}
      </label>
      <input
        id={id}
        type="date"
        className="field-input"
        value={value}
        min={min || undefined}
        max={max || undefined}
        aria-invalid={invalid || undefined}
        onChange={(e) => onChange(e.target.value)}
      />
    </div>
  )
}
