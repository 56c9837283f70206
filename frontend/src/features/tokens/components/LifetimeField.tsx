import { SelectField } from '../../../components/ui/SelectField'
import { TextField } from '../../../components/ui/TextField'
import { formatDuration } from '../../../lib/time'
import { LIFETIME_PRESET_DAYS } from '../api/tokens'

/** What the lifetime field holds: the default, a preset (days), or a custom amount of days or hours. */
export interface LifetimeValue {
  choice: string
  amount: string
  unit: 'd' | 'h'
}

export const DEFAULT_LIFETIME: LifetimeValue = { choice: 'default', amount: '', unit: 'd' }

const UNIT_SECONDS = { d: 86_400, h: 3_600 } as const

/**
 * The `expiresIn` to send (none for the default, SERVICE_TOKEN_TTL), or why the custom value
 * cannot be sent. `ttlSeconds` is SERVICE_TOKEN_TTL when known: the server refuses longer.
 */
export function readLifetime(value: LifetimeValue, ttlSeconds?: number): { expiresIn?: string } | { error: string } {
  if (value.choice === 'default') return {}
  if (value.choice !== 'custom') return { expiresIn: `${value.choice}d` }
  const amount = value.amount.trim()
  if (!/^[1-9]\d{0,5}$/.test(amount)) return { error: 'Enter the lifetime as a whole number of days or hours, at least 1.' }
  if (ttlSeconds !== undefined && Number(amount) * UNIT_SECONDS[value.unit] > ttlSeconds) {
    return { error: `That is longer than SERVICE_TOKEN_TTL: a token lives at most ${formatDuration(ttlSeconds)} here.` }
  }
  return { expiresIn: `${amount}${value.unit}` }
}

interface LifetimeFieldProps {
  value: LifetimeValue
  onChange: (value: LifetimeValue) => void
  /** SERVICE_TOKEN_TTL, the default and longest lifetime; undefined while unknown. */
  ttlSeconds?: number
  error?: string
  /** The custom amount's input, for the focus after a failed check. */
  amountId?: string
}

/** How long the token lives: SERVICE_TOKEN_TTL by default, a preset up to it, or a custom value. */
export function LifetimeField({ value, onChange, ttlSeconds, error, amountId }: LifetimeFieldProps) {
  const presets = LIFETIME_PRESET_DAYS.filter((days) => ttlSeconds === undefined || days * 86_400 < ttlSeconds)
  const options = [
    {
      value: 'default',
      label: ttlSeconds === undefined ? 'The longest (SERVICE_TOKEN_TTL)' : `${formatDuration(ttlSeconds)} (the longest, SERVICE_TOKEN_TTL)`,
    },
    ...presets.map((days) => ({ value: String(days), label: `${days} days` })),
    { value: 'custom', label: 'Custom…' },
  ]
  return (
    <div className="space-y-2">
      <SelectField label="Lifetime" value={value.choice} onChange={(choice) => onChange({ ...value, choice })} options={options} />
      {value.choice === 'custom' && (
        <div className="flex flex-wrap items-start gap-3 pl-6">
          <TextField
            id={amountId}
            className="w-32 space-y-1.5"
            label={value.unit === 'd' ? 'Days' : 'Hours'}
            value={value.amount}
            onChange={(amount) => onChange({ ...value, amount })}
            error={error}
            inputMode="numeric"
          />
          <SelectField
            label="Unit"
            value={value.unit}
            onChange={(unit) => onChange({ ...value, unit: unit === 'h' ? 'h' : 'd' })}
            options={[
              { value: 'd', label: 'days' },
              { value: 'h', label: 'hours' },
            ]}
          />
        </div>
      )}
      <p className="muted text-xs">
        A shorter life limits the harm of a leaked token; a warning goes out 30, 7 and 1 days before it ends.
      </p>
    </div>
  )
}
