import { useId } from 'react'
import { Alert } from '../../../components/ui/Alert'
import { Choice } from '../../../components/ui/Choice'
import { TextField } from '../../../components/ui/TextField'
import { EVERY_WORKLOAD, parseWorkloads } from '../api/serviceUsers'

/** What the workloads field holds: a list of names typed in, or every workload chosen on purpose. */
export interface WorkloadsValue {
  mode: 'list' | 'every'
  text: string
}

/** The field's value for a service user's workloads as stored (`["*"]` is "every workload"). */
export function workloadsValue(workloads: readonly string[]): WorkloadsValue {
  return workloads.includes(EVERY_WORKLOAD) ? { mode: 'every', text: '' } : { mode: 'list', text: workloads.join(', ') }
}

/** The workloads to send, or why there are none to send. */
export function readWorkloads(value: WorkloadsValue): { workloads: string[] } | { error: string } {
  if (value.mode === 'every') return { workloads: [EVERY_WORKLOAD] }
  const names = parseWorkloads(value.text)
  if (names.includes(EVERY_WORKLOAD)) {
    return { error: 'To allow every workload, choose “Every workload (*)” instead of typing *.' }
  }
  if (names.length === 0) {
    return {
      error:
        'Name at least one workload its tokens may record runs into, or choose “Every workload (*)” on purpose.',
    }
  }
  return { workloads: names }
}

interface WorkloadsFieldProps {
  value: WorkloadsValue
  onChange: (value: WorkloadsValue) => void
  /** pipeline:write is among the scopes: then "every workload" lets its tokens write into every team's data. */
  writes: boolean
  error?: string
  /** Set on the names' input, so a failed check can put the focus there. */
  inputId?: string
}

/**
 * A service user's workloads: the names its tokens may record runs into and read (they need
 * not exist yet), or every workload, with a warning when that includes writing.
 */
export function WorkloadsField({ value, onChange, writes, error, inputId }: WorkloadsFieldProps) {
  const name = useId()
  const everyHintId = useId()
  return (
    <fieldset className="space-y-2">
      <legend className="text-sm font-medium">Workloads</legend>
      <p className="muted text-xs">
        The workloads its tokens may record runs into and read. A workload is created by its first run, so the names
        need not exist yet.
      </p>
      <Choice type="radio" name={name} checked={value.mode === 'list'} onChange={() => onChange({ ...value, mode: 'list' })}>
        Only these workloads
      </Choice>
      {value.mode === 'list' && (
        <TextField
          id={inputId}
          className="space-y-1.5 pl-6"
          inputClassName="font-mono"
          label="Workload names"
          value={value.text}
          onChange={(text) => onChange({ ...value, text })}
          error={error}
          hint="Separate names with commas or spaces."
          spellCheck={false}
          placeholder="e.g. team-a, team-a-mobile"
        />
      )}
      <Choice
        type="radio"
        name={name}
        checked={value.mode === 'every'}
        onChange={() => onChange({ ...value, mode: 'every' })}
        describedBy={writes && value.mode === 'every' ? everyHintId : undefined}
      >
        Every workload (<code className="font-mono">*</code>), present and future
      </Choice>
      {value.mode === 'every' && writes && (
        <div id={everyHintId}>
          <Alert tone="warning" title="Every workload, with pipeline:write">
            <p>
              Its tokens could record runs into any team’s workload and create new workloads: one leaked token could
              falsify every dashboard. Prefer naming the workloads of the pipelines that use it.
            </p>
          </Alert>
        </div>
      )}
    </fieldset>
  )
}
