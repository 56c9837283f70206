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
      <div>
        <label htmlFor={`${id}-start`} className="mb-1 block text-sm font-medium">
          From
        </label>
        <input
          id={`${id}-start`}
          type="date"
          className="field-input"
          value={value.start}
          max={value.end || undefined}
          aria-invalid={error ? true : undefined}
          onChange={(e) => onChange({ ...value, start: e.target.value })}
        />
      </div>
      <div>
        <label htmlFor={`${id}-end`} className="mb-1 block text-sm font-medium">
          To
        </label>
        <input
          id={`${id}-end`}
          type="date"
          className="field-input"
          value={value.end}
          min={value.start || undefined}
          aria-invalid={error ? true : undefined}
          onChange={(e) => onChange({ ...value, end: e.target.value })}
        />
      </div>
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
