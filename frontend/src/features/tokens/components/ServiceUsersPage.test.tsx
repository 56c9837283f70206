import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { MemoryRouter, Route, Routes } from 'react-router'
import { describe, expect, it } from 'vitest'
import { jsonResponse, mockFetch, problem, type RecordedRequest, listResponse } from '../../../test/http'
import { renderWithQuery } from '../../../test/render'
import { serviceUser } from '../testing/fixtures'
import { ServiceUsersPage } from './ServiceUsersPage'

const user = serviceUser

const LIST = 'GET /api/service-users?limit=50'

const list = listResponse

function renderPage() {
  return renderWithQuery(
    <MemoryRouter initialEntries={['/admin/service-users']}>
      <Routes>
        <Route path="/admin/service-users" element={<ServiceUsersPage />} />
        <Route path="/admin/service-users/:serviceUserId" element={<p>page of {`service user`}</p>} />
      </Routes>
    </MemoryRouter>,
  )
}

async function bodyOf(requests: RecordedRequest[], key: string): Promise<unknown> {
  await waitFor(() => expect(requests.some((r) => r.key === key)).toBe(true))
  return requests.find((r) => r.key === key)!.request.json()
}

function row(name: string) {
  return screen.getByRole('rowheader', { name: new RegExp(name) }).closest('tr')!
}

describe('ServiceUsersPage', () => {
  it('lists each service user with its role, workloads, tokens, last use and badges', async () => {
    mockFetch({
      [LIST]: list([
        user(),
        user({ id: 8, name: 'legacy', description: '', workloads: ['*'], needsReview: true, lastUsed: new Date().toISOString() }),
        user({ id: 9, name: 'grafana', scopes: ['metrics:read'], workloads: ['*'], disabled: true, tokenCount: 0 }),
      ]),
    })
    renderPage()
    const teamA = await screen.findByRole('link', { name: 'team-a-ci' })
    expect(teamA).toHaveAttribute('href', '/admin/service-users/7')
    expect(screen.getAllByRole('columnheader').map((h) => h.textContent)).toEqual([
      'Name',
      'Role',
      'Workloads',
      'Tokens',
      'Last Used',
      'Actions',
    ])
    const a = within(row('team-a-ci'))
    expect(a.getByText('Team A pipelines')).toBeVisible()
    expect(a.getByText('metrics:read pipeline:write')).toBeVisible()
    expect(a.getByText('team-a, team-a-mobile')).toBeVisible()
    expect(a.getByText('Never')).toBeVisible()
    expect(a.queryByText('Writes every workload')).not.toBeInTheDocument()

    const legacy = within(row('legacy'))
    expect(legacy.getByText('every workload (*)')).toBeVisible()
    expect(legacy.getByText('Review')).toBeVisible()
    expect(legacy.getByText('Writes every workload')).toBeVisible()
    expect(legacy.getByText('just now')).toBeVisible()

    const grafana = within(row('grafana'))
    expect(grafana.getByText('Disabled')).toBeVisible()
    expect(grafana.queryByText('Writes every workload')).not.toBeInTheDocument()
    expect(grafana.getByRole('button', { name: 'Enable grafana' })).toBeVisible()
    expect(screen.getByText('Showing 3 of 3 service users')).toBeVisible()
  })

  it('creates a service user for named workloads and opens its page', async () => {
    const requests = mockFetch({
      [LIST]: list([]),
      'POST /api/service-users': () => jsonResponse(201, user({ id: 12, name: 'team-b-ci', tokenCount: 0 })),
    })
    renderPage()
    fireEvent.click((await screen.findAllByRole('button', { name: 'Create Service User' }))[0]!)
    const dialog = screen.getByRole('dialog', { name: 'Create service user' })
    const d = within(dialog)
    expect(d.getByLabelText('Name')).toHaveFocus()
    // Read-only by default, on every workload; pipeline:write asks for the workloads.
    expect(d.getByRole('radio', { name: /Every workload/ })).toBeChecked()
    fireEvent.click(d.getByRole('checkbox', { name: /pipeline:write/ }))
    expect(d.getByRole('radio', { name: 'Only these workloads' })).toBeChecked()

    fireEvent.click(d.getByRole('button', { name: 'Create Service User' }))
    expect(d.getByText(/^Enter a name/)).toBeVisible()
    expect(d.getByText(/Name at least one workload/)).toBeVisible()
    expect(d.getByLabelText('Name')).toHaveFocus()
    expect(requests.filter((r) => r.key === 'POST /api/service-users')).toEqual([])

    fireEvent.change(d.getByLabelText('Name'), { target: { value: ' team-b-ci ' } })
    fireEvent.change(d.getByLabelText(/^Description/), { target: { value: 'Team B' } })
    fireEvent.change(d.getByLabelText('Workload names'), { target: { value: 'team-b' } })
    fireEvent.change(d.getByLabelText(/^Allowed networks/), { target: { value: '10.0.0.0/8\n 2001:db8::/32, 10.0.0.0/8' } })
    fireEvent.click(d.getByRole('button', { name: 'Create Service User' }))
    expect(await bodyOf(requests, 'POST /api/service-users')).toEqual({
      name: 'team-b-ci',
      description: 'Team B',
      scopes: ['metrics:read', 'pipeline:write'],
      workloads: ['team-b'],
      allowedCidrs: ['10.0.0.0/8', '2001:db8::/32'],
    })
    expect(await screen.findByText('page of service user')).toBeVisible()
  })

  it("shows the server's refusal in the create dialog", async () => {
    mockFetch({
      [LIST]: list([]),
      'POST /api/service-users': () =>
        problem(409, 'Conflict', 'a service user named "team-a-ci" exists already: edit it, or choose another name', 'conflict'),
    })
    renderPage()
    fireEvent.click((await screen.findAllByRole('button', { name: 'Create Service User' }))[0]!)
    const d = within(screen.getByRole('dialog'))
    fireEvent.change(d.getByLabelText('Name'), { target: { value: 'team-a-ci' } })
    fireEvent.click(d.getByRole('button', { name: 'Create Service User' }))
    expect(await d.findByRole('alert')).toHaveTextContent('exists already: edit it, or choose another name')
  })

  it('edits a service user, saying first what it does to its tokens', async () => {
    const requests = mockFetch({
      [LIST]: list([user({ needsReview: true })]),
      'PATCH /api/service-users/7': () => jsonResponse(200, user({ workloads: ['team-a'] })),
    })
    renderPage()
    fireEvent.click(await screen.findByRole('button', { name: 'Edit team-a-ci' }))
    const d = within(screen.getByRole('dialog', { name: 'Edit service user team-a-ci' }))
    expect(d.getByText('Review this service user')).toBeVisible()
    expect(d.getByText('Nothing changes.')).toBeVisible()
    fireEvent.change(d.getByLabelText('Workload names'), { target: { value: 'team-a' } })
    expect(d.getByText('Recording into or reading team-a-mobile is refused (403) from now on.')).toBeVisible()
    expect(d.getByText(/all 2 of its active tokens/)).toBeVisible()
    expect(d.getByText('Saving marks it as reviewed.')).toBeVisible()
    fireEvent.change(d.getByLabelText(/^Allowed networks/), { target: { value: '10.0.0.0/8' } })
    expect(d.getByText(/Its tokens work only from 10\.0\.0\.0\/8: calls from elsewhere get 403/)).toBeVisible()
    fireEvent.click(d.getByRole('button', { name: 'Save changes' }))
    expect(await bodyOf(requests, 'PATCH /api/service-users/7')).toEqual({
      description: 'Team A pipelines',
      scopes: ['metrics:read', 'pipeline:write'],
      workloads: ['team-a'],
      allowedCidrs: ['10.0.0.0/8'],
    })
    await waitFor(() => expect(screen.getByRole('status')).toHaveTextContent('Saved the service user “team-a-ci”'))
  })

  it('disables a service user, saying its tokens are refused but not revoked', async () => {
    const requests = mockFetch({
      [LIST]: list([user()]),
      'PATCH /api/service-users/7': () => jsonResponse(200, user({ disabled: true })),
    })
    renderPage()
    fireEvent.click(await screen.findByRole('button', { name: 'Disable team-a-ci' }))
    const d = within(screen.getByRole('dialog', { name: 'Disable service user team-a-ci' }))
    expect(d.getByText(/has 2 active tokens/)).toBeVisible()
    expect(d.getByText(/Its tokens are not revoked/)).toBeVisible()
    expect(d.getByRole('button', { name: 'Cancel' })).toHaveFocus()
    fireEvent.click(d.getByRole('button', { name: 'Disable service user' }))
    expect(await bodyOf(requests, 'PATCH /api/service-users/7')).toEqual({ disabled: true })
    await waitFor(() => expect(screen.getByRole('status')).toHaveTextContent('its tokens get 403 Forbidden until it is enabled again'))
  })

  it('enables a disabled service user again', async () => {
    const requests = mockFetch({
      [LIST]: list([user({ disabled: true, tokenCount: 1 })]),
      'PATCH /api/service-users/7': () => jsonResponse(200, user()),
    })
    renderPage()
    fireEvent.click(await screen.findByRole('button', { name: 'Enable team-a-ci' }))
    const d = within(screen.getByRole('dialog', { name: 'Enable service user team-a-ci' }))
    expect(d.getByText(/has 1 active token\. Once it is enabled, it works again at once/)).toBeVisible()
    fireEvent.click(d.getByRole('button', { name: 'Enable service user' }))
    expect(await bodyOf(requests, 'PATCH /api/service-users/7')).toEqual({ disabled: false })
    await waitFor(() => expect(screen.getByRole('status')).toHaveTextContent('its tokens work again'))
  })

  it('deletes a service user with its tokens, saying how many go with it', async () => {
    const requests = mockFetch({
      [LIST]: list([user()]),
      'DELETE /api/service-users/7?revokeTokens=true': () => new Response(null, { status: 204 }),
    })
    renderPage()
    fireEvent.click(await screen.findByRole('button', { name: 'Delete team-a-ci' }))
    const d = within(screen.getByRole('dialog', { name: 'Delete service user team-a-ci' }))
    expect(d.getByText('This action cannot be undone')).toBeVisible()
    expect(d.getByText(/It has 2 active tokens\. Deleting it revokes them with it/)).toBeVisible()
    fireEvent.click(d.getByRole('button', { name: 'Revoke its 2 tokens and delete' }))
    await waitFor(() => expect(screen.getByRole('status')).toHaveTextContent('Deleted the service user “team-a-ci” and revoked its 2 tokens.'))
    expect(requests.some((r) => r.key === 'DELETE /api/service-users/7?revokeTokens=true')).toBe(true)
  })

  it('after a 409 (a token issued meanwhile), offers to revoke its tokens and delete', async () => {
    const requests = mockFetch({
      [LIST]: list([user({ tokenCount: 0 })]),
      'DELETE /api/service-users/7': () =>
        problem(409, 'Conflict', 'service user "team-a-ci" has 1 active token(s): revoke them first', 'service_user_has_tokens'),
      'GET /api/service-users/7': () => jsonResponse(200, { ...user({ tokenCount: 1 }), tokens: [] }),
      'DELETE /api/service-users/7?revokeTokens=true': () => new Response(null, { status: 204 }),
    })
    renderPage()
    fireEvent.click(await screen.findByRole('button', { name: 'Delete team-a-ci' }))
    const d = within(screen.getByRole('dialog'))
    expect(d.getByText(/It has no active token/)).toBeVisible()
    fireEvent.click(d.getByRole('button', { name: 'Delete service user' }))
    expect(await d.findByRole('alert')).toHaveTextContent('has 1 active token(s)')
    fireEvent.click(await d.findByRole('button', { name: 'Revoke its token and delete' }))
    await waitFor(() => expect(screen.getByRole('status')).toHaveTextContent('and revoked its token.'))
    expect(requests.map((r) => r.key).filter((k) => k.startsWith('DELETE'))).toEqual([
      'DELETE /api/service-users/7',
      'DELETE /api/service-users/7?revokeTokens=true',
    ])
  })

  it('filters by name through the URL', async () => {
    const requests = mockFetch({
      [LIST]: list([user()]),
      'GET /api/service-users?limit=50&name=team': list([user()]),
    })
    renderPage()
    await screen.findByRole('link', { name: 'team-a-ci' })
    fireEvent.change(screen.getByLabelText('Filter by name'), { target: { value: ' team ' } })
    await waitFor(() => expect(requests.some((r) => r.key === 'GET /api/service-users?limit=50&name=team')).toBe(true))
  })
})
