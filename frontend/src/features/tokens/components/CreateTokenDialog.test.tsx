import { useState, type ReactElement } from 'react'
import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { describe, expect, it, vi } from 'vitest'
import { jsonResponse, mockFetch, problem, type RecordedRequest } from '../../../test/http'
import { renderWithQuery, stubClipboard } from '../../../test/render'
import type { ServiceUser } from '../api/serviceUsers'
import { serviceUser as aServiceUser } from '../testing/fixtures'
import { CreateTokenDialog } from './CreateTokenDialog'

const SECRET = 'eyJhbGciOiJIUzI1NiJ9.secret-value.sig'

function Harness({
  onCreated = vi.fn(),
  serviceUser,
}: {
  onCreated?: () => void
  serviceUser?: Pick<ServiceUser, 'name' | 'scopes'>
}) {
  const [open, setOpen] = useState(true)
  return (
    <>
      <button type="button" onClick={() => setOpen(true)}>
        Open
      </button>
      {open && <CreateTokenDialog onClose={() => setOpen(false)} onCreated={onCreated} serviceUser={serviceUser} />}
    </>
  )
}

function render(ui: ReactElement) {
  return renderWithQuery(<MemoryRouter>{ui}</MemoryRouter>)
}

const created = () => jsonResponse(201, { accessToken: SECRET, tokenId: 'tok-1', expires: '2099-01-01T00:00:00Z' })

function serviceUser(over: Partial<ServiceUser>): ServiceUser {
  return aServiceUser({ description: '', workloads: ['team-a'], tokenCount: 1, ...over })
}

/** GET /api/service-users?name=… as the dialog asks it: the list filter is "contains". */
function lookup(name: string, users: ServiceUser[]) {
  return { [`GET /api/service-users?name=${encodeURIComponent(name)}&limit=1000`]: () => jsonResponse(200, users) }
}

function checkScope(scope: string, on = true) {
  const box = screen.getByRole('checkbox', { name: new RegExp(scope) })
  if ((box as HTMLInputElement).checked !== on) fireEvent.click(box)
}

async function bodyOf(requests: RecordedRequest[], key: string): Promise<unknown> {
  await waitFor(() => expect(requests.some((r) => r.key === key)).toBe(true))
  return requests.find((r) => r.key === key)!.request.json()
}

function subjectField() {
  return screen.getByLabelText('Subject')
}

describe('CreateTokenDialog', () => {
  it('explains what is wrong with the subject before sending anything', () => {
    const requests = mockFetch({})
    render(<Harness />)
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))
    expect(screen.getByText(/^Enter a subject/)).toBeVisible()
    expect(subjectField()).toHaveAttribute('aria-invalid', 'true')
    expect(subjectField()).toHaveAccessibleDescription(/Enter a subject/)

    fireEvent.change(subjectField(), { target: { value: 'x'.repeat(101) } })
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))
    expect(screen.getByText(/too long: 101 characters/)).toBeVisible()

    fireEvent.change(subjectField(), { target: { value: 'ok' } })
    expect(screen.queryByText(/too long/)).not.toBeInTheDocument()
    expect(requests).toEqual([])
  })

  it('shows the detail of a 400 from the server', async () => {
    mockFetch({ 'POST /api/tokens': () => problem(400, 'Bad Request', 'subject: must not contain "\\u2028"') })
    render(<Harness />)
    fireEvent.change(subjectField(), { target: { value: 'odd' } })
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('subject: must not contain')
  })

  it('sends the trimmed subject and the default scope, shows the value once, copies it, and forgets it on close', async () => {
    const writeText = stubClipboard()
    const onCreated = vi.fn()
    const requests = mockFetch({
      'POST /api/tokens': () =>
        jsonResponse(201, { accessToken: SECRET, tokenId: 'tok-1', expires: '2099-01-01T00:00:00Z' }),
    })
    render(<Harness onCreated={onCreated} />)
    fireEvent.change(subjectField(), { target: { value: '  ci-pipeline ' } })
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))

    expect(await screen.findByLabelText('Service token')).toHaveValue(SECRET)
    expect(await requests.find((r) => r.key === 'POST /api/tokens')?.request.json()).toEqual({
      subject: 'ci-pipeline',
      scopes: ['metrics:read'],
    })
    expect(onCreated).toHaveBeenCalledWith({ tokenId: 'tok-1', subject: 'ci-pipeline' })
    expect(JSON.stringify(onCreated.mock.calls)).not.toContain(SECRET)
    expect(screen.getByText('This token is shown only once')).toBeVisible()
    expect(screen.getByText(/cannot be retrieved again/)).toBeVisible()
    expect(screen.getByText(/secret manager or an environment variable/)).toBeVisible()
    expect(screen.getByText(/Never commit it/)).toBeVisible()
    expect(screen.getByText(/curl -H "Authorization: Bearer \$CODEMETRICS_TOKEN"/)).toBeVisible()

    fireEvent.click(screen.getByRole('button', { name: 'Copy token' }))
    expect(await screen.findByText('Copied')).toBeVisible()
    expect(writeText).toHaveBeenCalledWith(SECRET)

    fireEvent.click(screen.getByRole('button', { name: 'Done' }))
    expect(document.body).not.toHaveTextContent(SECRET)
    expect(screen.queryByDisplayValue(SECRET)).not.toBeInTheDocument()

    // Opening the dialog again starts from an empty form: the value is gone for good.
    fireEvent.click(screen.getByRole('button', { name: 'Open' }))
    expect(subjectField()).toHaveValue('')
    expect(screen.queryByDisplayValue(SECRET)).not.toBeInTheDocument()
    expect(JSON.stringify({ ...window.localStorage })).not.toContain(SECRET)
    expect(JSON.stringify({ ...window.sessionStorage })).not.toContain(SECRET)
    expect(window.location.href).not.toContain(SECRET)
  })

  it('asks for the workloads of a new service user with pipeline:write, and sends them', async () => {
    const requests = mockFetch({ ...lookup('team-b-ci', []), 'POST /api/tokens': created })
    render(<Harness />)
    fireEvent.change(subjectField(), { target: { value: 'team-b-ci' } })
    checkScope('pipeline:write')
    expect(await screen.findByText(/No service user is named “team-b-ci” yet/)).toBeVisible()
    const names = screen.getByLabelText('Workload names')

    // Nothing named: said at the field, nothing sent.
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))
    expect(await screen.findByText(/Name at least one workload/)).toBeVisible()
    expect(names).toHaveAttribute('aria-invalid', 'true')
    expect(names).toHaveAccessibleDescription(/Name at least one workload/)
    expect(requests.filter((r) => r.key === 'POST /api/tokens')).toEqual([])

    fireEvent.change(names, { target: { value: 'team-b, team-b-mobile  team-b' } })
    expect(screen.queryByText(/Name at least one workload/)).not.toBeInTheDocument()
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))
    expect(await screen.findByLabelText('Service token')).toHaveValue(SECRET)
    expect(await bodyOf(requests, 'POST /api/tokens')).toEqual({
      subject: 'team-b-ci',
      scopes: ['metrics:read', 'pipeline:write'],
      workloads: ['team-b', 'team-b-mobile'],
    })
  })

  it('sends every workload only when chosen on purpose, with a warning', async () => {
    const requests = mockFetch({ ...lookup('anything-ci', []), 'POST /api/tokens': created })
    render(<Harness />)
    fireEvent.change(subjectField(), { target: { value: 'anything-ci' } })
    checkScope('metrics:read', false)
    checkScope('pipeline:write')
    expect(screen.queryByText('Every workload, with pipeline:write')).not.toBeInTheDocument()
    fireEvent.click(screen.getByRole('radio', { name: /Every workload/ }))
    expect(screen.getByText('Every workload, with pipeline:write')).toBeVisible()
    expect(screen.getByRole('radio', { name: /Every workload/ })).toHaveAccessibleDescription(/any team’s workload/)
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))
    expect(await bodyOf(requests, 'POST /api/tokens')).toEqual({ subject: 'anything-ci', scopes: ['pipeline:write'], workloads: ['*'] })
  })

  it('leaves the workloads to an existing service user, and says whose token it will be', async () => {
    const requests = mockFetch({
      ...lookup('team-a-ci', [serviceUser({ name: 'team-a-ci-old', id: 6 }), serviceUser({})]),
      'POST /api/tokens': created,
    })
    render(<Harness />)
    fireEvent.change(subjectField(), { target: { value: 'team-a-ci' } })
    checkScope('pipeline:write')
    const owner = await screen.findByText(/is an existing service user/)
    expect(owner).toHaveTextContent('its workloads (team-a)')
    expect(within(owner).getByRole('link', { name: 'team-a-ci' })).toHaveAttribute('href', '/admin/service-users/7')
    expect(screen.queryByLabelText('Workload names')).not.toBeInTheDocument()
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))
    expect(await bodyOf(requests, 'POST /api/tokens')).toEqual({ subject: 'team-a-ci', scopes: ['metrics:read', 'pipeline:write'] })
  })

  it('checks the name again when Create is pressed before the lookup caught up', async () => {
    const requests = mockFetch({ ...lookup('team-a-ci', [serviceUser({})]), 'POST /api/tokens': created })
    render(<Harness />)
    checkScope('pipeline:write')
    fireEvent.change(subjectField(), { target: { value: 'team-a-ci' } })
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))
    expect(await bodyOf(requests, 'POST /api/tokens')).toEqual({ subject: 'team-a-ci', scopes: ['metrics:read', 'pipeline:write'] })
  })

  it('shows the message of a refusal as the API words it', async () => {
    const detail = 'service user "team-a-ci" does not hold pipeline:write: a token may narrow its service user\'s scopes'
    mockFetch({
      ...lookup('team-a-ci', [serviceUser({ scopes: ['metrics:read'] })]),
      'POST /api/tokens': () => problem(400, 'Bad Request', detail, 'scopes_too_wide'),
    })
    render(<Harness />)
    fireEvent.change(subjectField(), { target: { value: 'team-a-ci' } })
    checkScope('pipeline:write')
    await screen.findByText(/is an existing service user/)
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))
    expect(await screen.findByRole('alert')).toHaveTextContent(detail)
  })

  it("issues a service user's token from its page: its name, at most its scopes", async () => {
    const requests = mockFetch({ 'POST /api/tokens': created })
    const onCreated = vi.fn()
    render(<Harness onCreated={onCreated} serviceUser={{ name: 'exporter', scopes: ['metrics:read'] }} />)
    expect(screen.queryByLabelText('Subject')).not.toBeInTheDocument()
    expect(screen.getByText('exporter')).toBeVisible()
    expect(screen.getByRole('checkbox', { name: /pipeline:write/ })).toBeDisabled()
    expect(screen.getByRole('checkbox', { name: /metrics:read/ })).toHaveFocus()
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))
    expect(await screen.findByLabelText('Service token')).toHaveValue(SECRET)
    expect(await bodyOf(requests, 'POST /api/tokens')).toEqual({ subject: 'exporter', scopes: ['metrics:read'] })
    expect(onCreated).toHaveBeenCalledWith({ tokenId: 'tok-1', subject: 'exporter' })
    // Its page knows the service user: no lookup by name.
    expect(requests.filter((r) => r.key.startsWith('GET /api/service-users'))).toEqual([])
  })

  it('closes on Escape', () => {
    mockFetch({})
    render(<Harness />)
    const dialog = screen.getByRole('dialog', { hidden: true })
    fireEvent(dialog, new Event('cancel', { cancelable: true }))
    expect(screen.queryByLabelText('Subject')).not.toBeInTheDocument()
  })

  it('offers the lifetimes up to SERVICE_TOKEN_TTL, and sends the one chosen with the description', async () => {
    const requests = mockFetch({
      'GET /api/system/config': () => jsonResponse(200, { serviceTokenTtlSeconds: 90 * 86_400, serviceTokenTtl: '90d' }),
      'POST /api/tokens': created,
    })
    render(<Harness />)
    const lifetime = screen.getByLabelText('Lifetime')
    await waitFor(() => expect(within(lifetime).getByRole('option', { name: /90 days \(the longest/ })).toBeInTheDocument())
    expect(within(lifetime).getAllByRole('option').map((o) => o.textContent)).toEqual([
      '90 days (the longest, SERVICE_TOKEN_TTL)',
      '30 days',
      'Custom…',
    ])
    fireEvent.change(subjectField(), { target: { value: 'nightly' } })
    fireEvent.change(lifetime, { target: { value: '30' } })
    fireEvent.change(screen.getByLabelText(/^Description/), { target: { value: '  Nightly upload ' } })
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))
    expect(await screen.findByLabelText('Service token')).toHaveValue(SECRET)
    expect(await requests.find((r) => r.key === 'POST /api/tokens')?.request.json()).toEqual({
      subject: 'nightly',
      scopes: ['metrics:read'],
      expiresIn: '30d',
      description: 'Nightly upload',
    })
  })

  it('refuses a custom lifetime longer than SERVICE_TOKEN_TTL before sending it, and sends one in hours', async () => {
    const requests = mockFetch({
      'GET /api/system/config': () => jsonResponse(200, { serviceTokenTtlSeconds: 30 * 86_400, serviceTokenTtl: '30d' }),
      'POST /api/tokens': created,
    })
    render(<Harness />)
    const lifetime = screen.getByLabelText('Lifetime')
    await waitFor(() => expect(within(lifetime).getByRole('option', { name: /30 days \(the longest/ })).toBeInTheDocument())
    fireEvent.change(subjectField(), { target: { value: 'nightly' } })
    fireEvent.change(lifetime, { target: { value: 'custom' } })
    fireEvent.change(screen.getByLabelText('Days'), { target: { value: '45' } })
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))
    expect(screen.getByText(/longer than SERVICE_TOKEN_TTL: a token lives at most 30 days here/)).toBeVisible()
    expect(screen.getByLabelText('Days')).toHaveFocus()
    expect(requests.filter((r) => r.key === 'POST /api/tokens')).toEqual([])

    fireEvent.change(screen.getByLabelText('Unit'), { target: { value: 'h' } })
    fireEvent.change(screen.getByLabelText('Hours'), { target: { value: '12' } })
    fireEvent.click(screen.getByRole('button', { name: 'Create Token' }))
    expect(await screen.findByLabelText('Service token')).toHaveValue(SECRET)
    expect(await requests.find((r) => r.key === 'POST /api/tokens')?.request.json()).toMatchObject({ expiresIn: '12h' })
  })

})
