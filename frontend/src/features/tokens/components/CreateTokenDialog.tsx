import { useId, useState, type FormEvent } from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { Link } from 'react-router'
import { Alert } from '../../../components/ui/Alert'
import { Dialog } from '../../../components/ui/Dialog'
import { DialogFooter } from '../../../components/ui/DialogFooter'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { TextField } from '../../../components/ui/TextField'
import { errorMessage } from '../../../lib/api'
import { useDebouncedValue } from '../../../lib/useDebouncedValue'
import { useSystemConfig } from '../../../lib/systemConfig'
import { describeWorkloads, serviceUserByNameQuery, serviceUserKeys, type ServiceUser } from '../api/serviceUsers'
import { checkDescription, createToken, validateSubject, type CreatedToken, type Scope } from '../api/tokens'
import { DescriptionField } from './DescriptionField'
import { DEFAULT_LIFETIME, LifetimeField, readLifetime, type LifetimeValue } from './LifetimeField'
import { ScopesField } from './ScopesField'
import { TokenReveal } from './TokenReveal'
import { WorkloadsField, readWorkloads, type WorkloadsValue } from './WorkloadsField'

interface CreateTokenDialogProps {
  onClose: () => void
  /** Called with the metadata only; the value never leaves this dialog. */
  onCreated: (token: { tokenId: string; subject: string }) => void
  /** Issue the token for this service user (its page): the subject is its name, the scopes at most its own. */
  serviceUser?: Pick<ServiceUser, 'name' | 'scopes'>
}

/**
 * Creates a token and shows its value once. The value lives only in this component's state:
 * closing the dialog unmounts it and the value is gone for good.
 */
export function CreateTokenDialog({ onClose, onCreated, serviceUser }: CreateTokenDialogProps) {
  const [created, setCreated] = useState<(CreatedToken & { subject: string }) | null>(null)
  const [busy, setBusy] = useState(false)

  return (
    <Dialog title={created ? 'Service token created' : 'Create service token'} onClose={onClose} busy={busy} size="lg">
      {created ? (
        <TokenCreated token={created} onDone={onClose} />
      ) : (
        <CreateTokenForm
          serviceUser={serviceUser}
          onCancel={onClose}
          onBusy={setBusy}
          onCreated={(token) => {
            setCreated(token)
            onCreated({ tokenId: token.tokenId, subject: token.subject })
          }}
        />
      )}
    </Dialog>
  )
}

function CreateTokenForm({
  serviceUser,
  onCancel,
  onBusy,
  onCreated,
}: {
  serviceUser?: Pick<ServiceUser, 'name' | 'scopes'>
  onCancel: () => void
  onBusy: (busy: boolean) => void
  onCreated: (token: CreatedToken & { subject: string }) => void
}) {
  const [subject, setSubject] = useState(serviceUser?.name ?? '')
  const [scopes, setScopes] = useState<Scope[]>(serviceUser ? serviceUser.scopes : ['metrics:read'])
  const [workloads, setWorkloads] = useState<WorkloadsValue>({ mode: 'list', text: '' })
  const [fieldError, setFieldError] = useState<string>()
  const [workloadsError, setWorkloadsError] = useState<string>()
  const [lifetime, setLifetime] = useState<LifetimeValue>(DEFAULT_LIFETIME)
  const [lifetimeError, setLifetimeError] = useState<string>()
  const [description, setDescription] = useState('')
  const [descriptionError, setDescriptionError] = useState<string>()
  const [serverError, setServerError] = useState<string>()
  const [submitting, setSubmitting] = useState(false)
  const ttlSeconds = useSystemConfig().data?.serviceTokenTtlSeconds
  const lifetimeId = useId()
  const descriptionId = useId()
  const queryClient = useQueryClient()
  const subjectId = useId()
  const workloadsId = useId()

  // Is the subject an existing service user? Then its own workloads apply; else the token's
  // request creates it, and with pipeline:write it must be told which workloads it may write.
  const name = subject.trim()
  const settledName = useDebouncedValue(name)
  const lookup = useQuery({
    ...serviceUserByNameQuery(settledName),
    enabled: !serviceUser && settledName !== '' && validateSubject(settledName) === undefined,
  })
  const existing = !serviceUser && settledName === name && lookup.isSuccess ? lookup.data : undefined
  const writes = scopes.includes('pipeline:write')
  const askWorkloads = !serviceUser && writes && !existing

  async function submit(event: FormEvent) {
    event.preventDefault()
    setServerError(undefined)
    const problem = validateSubject(subject)
    setFieldError(problem)
    if (problem) {
      document.getElementById(subjectId)?.focus()
      return
    }
    const life = readLifetime(lifetime, ttlSeconds)
    setLifetimeError('error' in life ? life.error : undefined)
    const descriptionProblem = checkDescription(description)
    setDescriptionError(descriptionProblem)
    if ('error' in life || descriptionProblem) {
      document.getElementById('error' in life ? lifetimeId : descriptionId)?.focus()
      return
    }
    if (scopes.length === 0) {
      setServerError('Choose at least one scope.')
      return
    }
    setSubmitting(true)
    onBusy(true)
    try {
      let send: string[] | undefined
      if (!serviceUser && writes) {
        // The lookup may not have caught up with the typing: ask again (from the cache when it has).
        const found = await queryClient.fetchQuery(serviceUserByNameQuery(name)).catch(() => null)
        if (!found) {
          const read = readWorkloads(workloads)
          if ('error' in read) {
            setWorkloadsError(read.error)
            document.getElementById(workloadsId)?.focus()
            return
          }
          send = read.workloads
        }
      }
      const token = await createToken(name, scopes, send, { expiresIn: life.expiresIn, description: description.trim() })
      // The token may have created its service user: what is known of service users is stale.
      void queryClient.invalidateQueries({ queryKey: serviceUserKeys.all })
      onCreated({ ...token, subject: name })
    } catch (err) {
      setServerError(errorMessage(err))
    } finally {
      setSubmitting(false)
      onBusy(false)
    }
  }

  return (
    <form onSubmit={(event) => void submit(event)} noValidate className="space-y-5">
      {serviceUser ? (
        <p className="text-sm">
          For the service user <strong className="break-all">{serviceUser.name}</strong>: the token acts with its
          workloads, and with the scopes chosen below as long as the service user holds them.
        </p>
      ) : (
        <TextField
          id={subjectId}
          data-autofocus
          label="Subject"
          value={subject}
          onChange={(value) => {
            setSubject(value)
            if (fieldError) setFieldError(validateSubject(value))
          }}
          error={fieldError}
          hint="A descriptive name for the service or application using the token (1–100 characters): the name of its service user, created with the token when there is none."
          spellCheck={false}
          placeholder="e.g. ci-pipeline"
        >
          <div aria-live="polite">
            <SubjectOwner name={name} existing={existing} />
          </div>
        </TextField>
      )}

      <ScopesField
        legend="Scopes"
        value={scopes}
        held={serviceUser?.scopes}
        onToggle={(scope, on) => setScopes((current) => (on ? [...current, scope] : current.filter((s) => s !== scope)))}
      />

      <LifetimeField
        value={lifetime}
        onChange={(value) => {
          setLifetime(value)
          if (lifetimeError) {
            const read = readLifetime(value, ttlSeconds)
            setLifetimeError('error' in read ? read.error : undefined)
          }
        }}
        ttlSeconds={ttlSeconds}
        error={lifetimeError}
        amountId={lifetimeId}
      />

      <DescriptionField
        id={descriptionId}
        value={description}
        onChange={setDescription}
        error={descriptionError}
        hint="Where it is used and what for: shown in the list, kept when the token is rotated."
        placeholder="e.g. Nightly coverage upload from the main branch"
      />

      {askWorkloads && (
        <WorkloadsField
          value={workloads}
          onChange={(value) => {
            setWorkloads(value)
            if (workloadsError) {
              const read = readWorkloads(value)
              setWorkloadsError('error' in read ? read.error : undefined)
            }
          }}
          writes
          error={workloadsError}
          inputId={workloadsId}
        />
      )}

      {serverError && (
        <Alert tone="error" role="alert" title="The token was not created">
          <p>{serverError}</p>
        </Alert>
      )}

      <DialogFooter>
        <button type="button" className="btn-secondary" onClick={onCancel} disabled={submitting}>
          Cancel
        </button>
        <button type="submit" className="btn-primary" disabled={submitting}>
          {submitting ? 'Creating…' : 'Create Token'}
        </button>
      </DialogFooter>
    </form>
  )
}

/** Whose token it will be: an existing service user (with what it may do) or a new one. */
function SubjectOwner({ name, existing }: { name: string; existing: ServiceUser | null | undefined }) {
  if (existing === undefined || name === '') return null
  if (existing === null) {
    return (
      <p className="muted text-xs">
        No service user is named “{name}” yet: one is created with this token, holding the scopes chosen below.
      </p>
    )
  }
  return (
    <Alert tone={existing.disabled ? 'warning' : 'info'}>
        <p>
          “
          <Link className="link" to={`/admin/service-users/${existing.id}`}>
            {existing.name}
          </Link>
          ” is an existing service user: the token acts with its workloads ({describeWorkloads(existing.workloads)}) and
          with the scopes chosen below that it holds ({existing.scopes.join(', ')}).
          {existing.disabled && ' It is disabled: enable it before issuing tokens for it.'}
        </p>
    </Alert>
  )
}

function TokenCreated({ token, onDone }: { token: CreatedToken & { subject: string }; onDone: () => void }) {
  return (
    <TokenReveal value={token.accessToken} onDone={onDone}>
      <p>
        The token for <strong className="break-all">{token.subject}</strong> was created. It expires{' '}
        <RelativeTime value={token.expires} />.
      </p>
    </TokenReveal>
  )
}
