import { Choice } from '../../../components/ui/Choice'
import { SCOPES, type Scope } from '../api/tokens'

interface ScopesFieldProps {
  legend: string
  hint?: string
  value: readonly Scope[]
  onToggle: (scope: Scope, on: boolean) => void
  /** Only these can be chosen (a service user's own scopes, for its token); the rest say why not. */
  held?: readonly Scope[]
}

/** The scopes as checkboxes, each with what it allows. */
export function ScopesField({ legend, hint, value, onToggle, held }: ScopesFieldProps) {
  // On a service user's page the first scope it holds is where the form starts.
  const first = held && SCOPES.find((s) => held.includes(s.value))?.value
  return (
    <fieldset className="space-y-2">
      <legend className="text-sm font-medium">{legend}</legend>
      {hint && <p className="muted text-xs">{hint}</p>}
      {SCOPES.map((scope) => {
        const holds = !held || held.includes(scope.value)
        return (
          <Choice
            key={scope.value}
            type="checkbox"
            checked={value.includes(scope.value)}
            disabled={!holds}
            startsHere={scope.value === first}
            onChange={(on) => onToggle(scope.value, on)}
          >
            <code className="font-mono">{scope.value}</code> — {scope.description}
            {!holds && <span className="muted"> (the service user does not hold it)</span>}
          </Choice>
        )
      })}
    </fieldset>
  )
}
