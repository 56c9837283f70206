import { useId, useState, type FormEvent } from 'react'
import { Alert } from '../../../components/ui/Alert'
import { Dialog } from '../../../components/ui/Dialog'
import { DialogFooter } from '../../../components/ui/DialogFooter'
import { TextField } from '../../../components/ui/TextField'
import { errorMessage } from '../../../lib/api'
import {
  changeEffects,
  createServiceUser,
  updateServiceUser,
  type ServiceUser,
  parseNetworks,
  type ServiceUserFields,
} from '../api/serviceUsers'
import { checkDescription, validateServiceUserName, type Scope } from '../api/tokens'
import { DescriptionField } from './DescriptionField'
import { ScopesField } from './ScopesField'
import { WorkloadsField, readWorkloads, workloadsValue, type WorkloadsValue } from './WorkloadsField'

interface ServiceUserFormDialogProps {
  /** The service user to edit; without one, the dialog creates a service user. */
  user?: ServiceUser
  onClose: () => void
  onSaved: (user: ServiceUser) => void
}

/**
 * Creates or edits a service user: name (on creation), description, scopes and workloads. On an
 * edit it says, before anything is sent, what the change does to the service user's tokens.
 */
export function ServiceUserFormDialog({ user, onClose, onSaved }: ServiceUserFormDialogProps) {
  const [name, setName] = useState('')
  const [description, setDescription] = useState(user?.description ?? '')
  const [scopes, setScopes] = useState<Scope[]>(user ? user.scopes : ['metrics:read'])
  const [workloads, setWorkloads] = useState<WorkloadsValue>(
    user ? workloadsValue(user.workloads) : { mode: 'every', text: '' },
  )
  const [networks, setNetworks] = useState((user?.allowedCidrs ?? []).join('\n'))
  const [workloadsTouched, setWorkloadsTouched] = useState(false)
  const [nameError, setNameError] = useState<string>()
  const [descriptionError, setDescriptionError] = useState<string>()
  const [workloadsError, setWorkloadsError] = useState<string>()
  const [serverError, setServerError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const nameId = useId()
  const descriptionId = useId()
  const workloadsId = useId()
  const effectsId = useId()
  const networksId = useId()
  const networksHintId = useId()

  const writes = scopes.includes('pipeline:write')
  const read = readWorkloads(workloads)
  const fields: ServiceUserFields | undefined =
    'workloads' in read ? { description: description.trim(), scopes, workloads: read.workloads, allowedCidrs: parseNetworks(networks) } : undefined
  const effects = user && fields && scopes.length > 0 ? changeEffects(user, fields) : undefined

  function toggleScope(scope: Scope, on: boolean) {
    setScopes((current) => (on ? [...current, scope] : current.filter((s) => s !== scope)))
    // Writing into every workload is never a default: granting pipeline:write asks for the
    // workloads, unless "every workload" was chosen by hand.
    const wasWriter = user?.scopes.includes('pipeline:write') ?? false
    if (!wasWriter && on && scope === 'pipeline:write' && !workloadsTouched && workloads.mode === 'every') {
      setWorkloads({ mode: 'list', text: workloads.text })
    }
  }

  async function submit(event: FormEvent) {
    event.preventDefault()
    setServerError(undefined)
    const nameProblem = user ? undefined : validateServiceUserName(name)
    const descriptionProblem = checkDescription(description)
    const workloadsProblem = 'error' in read ? read.error : undefined
    setNameError(nameProblem)
    setDescriptionError(descriptionProblem)
    setWorkloadsError(workloadsProblem)
    const first = nameProblem ? nameId : descriptionProblem ? descriptionId : workloadsProblem ? workloadsId : undefined
    if (first) {
      document.getElementById(first)?.focus()
      return
    }
    if (scopes.length === 0) {
      setServerError('Choose at least one scope.')
      return
    }
    setBusy(true)
    try {
      const saved = user ? await updateServiceUser(user.id, fields!) : await createServiceUser(name.trim(), fields!)
      onSaved(saved)
    } catch (err) {
      setServerError(errorMessage(err))
      setBusy(false)
    }
  }

  return (
    <Dialog title={user ? `Edit service user ${user.name}` : 'Create service user'} onClose={onClose} busy={busy} size="lg">
      <form onSubmit={(event) => void submit(event)} noValidate className="space-y-5">
        {user ? (
          user.needsReview && (
            <Alert tone="info" title="Review this service user">
              <p>
                The upgrade made it from the tokens of “{user.name}”, with their scopes and every workload, so that
                they kept working. Narrow its workloads to those its pipelines use, and save.
              </p>
            </Alert>
          )
        ) : (
          <TextField
            id={nameId}
            data-autofocus
            label="Name"
            value={name}
            onChange={(value) => {
              setName(value)
              if (nameError) setNameError(validateServiceUserName(value))
            }}
            error={nameError}
            hint="The pipeline or application that will use its tokens (1–100 characters): the subject of every token issued for it. It cannot be changed later."
            spellCheck={false}
            placeholder="e.g. team-a-ci"
          />
        )}

        <DescriptionField
          id={descriptionId}
          startsHere={!!user}
          value={description}
          onChange={setDescription}
          error={descriptionError}
          placeholder="e.g. Team A’s CI pipelines"
        />

        <ScopesField
          legend="Role (scopes)"
          hint="What every token of this service user may do at most; a token can be issued with fewer."
          value={scopes}
          onToggle={toggleScope}
        />

        <WorkloadsField
          value={workloads}
          onChange={(value) => {
            setWorkloads(value)
            setWorkloadsTouched(true)
            if (workloadsError) {
              const next = readWorkloads(value)
              setWorkloadsError('error' in next ? next.error : undefined)
            }
          }}
          writes={writes}
          error={workloadsError}
          inputId={workloadsId}
        />

        <div className="space-y-1.5">
          <label htmlFor={networksId} className="block text-sm font-medium">
            Allowed networks <span className="muted font-normal">(optional)</span>
          </label>
          <textarea
            id={networksId}
            className="field-input font-mono"
            rows={2}
            value={networks}
            onChange={(e) => setNetworks(e.target.value)}
            aria-describedby={networksHintId}
            autoComplete="off"
            spellCheck={false}
            placeholder={'10.0.0.0/8\n2001:db8::/32'}
          />
          <p id={networksHintId} className="muted text-xs">
            IPv4 or IPv6 networks (CIDR), one per line, at most 50: its tokens are refused from any other address
            (403). Leave empty to allow any address.
          </p>
        </div>

        {user ? (
          effects && (
            <section aria-labelledby={effectsId} className="space-y-1 text-sm">
              <h3 id={effectsId} className="font-medium">
                What this does to its tokens
              </h3>
              <ul className="list-disc space-y-0.5 pl-5">
                {effects.map((effect) => (
                  <li key={effect}>{effect}</li>
                ))}
              </ul>
            </section>
          )
        ) : (
          <p className="muted text-sm">
            It has no token yet: issue one on its page, one per environment. Its tokens act with its scopes and
            workloads as they are at each call, so a later change reaches them all at once.
          </p>
        )}

        {serverError && (
          <Alert tone="error" role="alert" title={user ? 'The service user was not changed' : 'The service user was not created'}>
            <p>{serverError}</p>
          </Alert>
        )}

        <DialogFooter>
          <button type="button" className="btn-secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="btn-primary" disabled={busy}>
            {busy ? 'Saving…' : user ? 'Save changes' : 'Create Service User'}
          </button>
        </DialogFooter>
      </form>
    </Dialog>
  )
}
