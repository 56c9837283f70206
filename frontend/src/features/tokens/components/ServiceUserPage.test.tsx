import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { MemoryRouter, Route, Routes } from 'react-router'
import { describe, expect, it } from 'vitest'
import { jsonResponse, mockFetch, problem, type RecordedRequest } from '../../../test/http'
import { renderWithQuery, stubClipboard } from '../../../test/render'
import type { Run, ServiceUserDetail } from '../api/serviceUsers'
import { serviceToken, serviceUser } from '../testing/fixtures'
import { ServiceUserPage } from './ServiceUserPage'

const token = serviceToken

function detail(over: Partial<ServiceUserDetail> = {}): ServiceUserDetail {
  return { ...serviceUser({ workloads: ['team-a'], tokenCount: 1 }), tokens: [token()], ...over }
}

const run = (over: Partial<Run> = {}): Run => ({
  id: 'r/1',
  workload: 'web/app',
  pipeline: 'build',
  kind: 'build',
  status: 'success',
  branch: 'main',
  commit: 'abcdef0123',
  startedAt: '2026-01-02T00:00:00.000Z',
  finishedAt: '2026-01-02T00:05:00.000Z',
  coverage: 80,
  tests: null,
  recordedAt: '2026-01-02T00:05:01.000Z',
  recordedBy: 'token:tok-1',
  serviceUser: 'team-a-ci',
  ...over,
})

const DETAIL = 'GET /api/service-users/7'
const RUNS = 'GET /api/pipeline/runs?serviceUser=team-a-ci&limit=20'

function renderPage(path = '/admin/service-users/7') {
  return renderWithQuery(
    <MemoryRouter initialEntries={[path]}>
      <Routes>
        <Route path="/admin/service-users/:serviceUserId" element={<ServiceUserPage />} />
        <Route path="/admin/service-users" element={<p>the list</p>} />
      </Routes>
    </MemoryRouter>,
  )
}

async function waitForRequest(requests: RecordedRequest[], key: string) {
  await waitFor(() => expect(requests.some((r) => r.key === key)).toBe(true))
  return requests.find((r) => r.key === key)!.request
}

describe('ServiceUserPage', () => {
  it('shows its details, its tokens in the Service Tokens table, and the runs its tokens recorded', async () => {
    mockFetch({
      [DETAIL]: () => jsonResponse(200, detail({ allowedCidrs: ['10.0.0.0/8', '2001:db8::/32'] })),
      [RUNS]: () => jsonResponse(200, [run()]),
    })
    renderPage()
    expect(await screen.findByRole('heading', { level: 1, name: 'team-a-ci' })).toBeVisible()
    expect(screen.getByText('Team A pipelines')).toBeVisible()
    const details = within(screen.getByRole('region', { name: 'Details' }))
    expect(details.getByText('metrics:read pipeline:write')).toBeVisible()
    expect(details.getByText('10.0.0.0/8, 2001:db8::/32')).toBeVisible()
    expect(details.getByText('team-a')).toBeVisible()
    expect(details.getByText('Enabled')).toBeVisible()

    const tokens = within(screen.getByRole('table', { name: 'Active service tokens' }))
    expect(tokens.getAllByRole('columnheader').map((h) => h.textContent)).toEqual([
      'Subject',
      'Description',
      'Status',
      'Created',
      'Expires',
      'Created By',
      'Last Used',
      'Usage (30 days)',
      'Actions',
    ])
    // On its own page the subject is not a link to itself; the usage leads to the token's page.
    expect(tokens.getByRole('rowheader', { name: /team-a-ci/ })).toBeVisible()
    expect(tokens.getAllByRole('link').map((l) => l.getAttribute('href'))).toEqual(['/admin/service-tokens/tok-1'])

    const runs = within(await screen.findByRole('table', { name: /Runs recorded by team-a-ci/ }))
    expect(runs.getByText('web/app')).toBeVisible()
    expect(runs.getByText('build #r/1')).toBeVisible()
    expect(runs.getByText('token:tok-1')).toBeVisible()
  })

  it('issues a token for it and lists it at once', async () => {
    stubClipboard()
    let tokens = [token()]
    const requests = mockFetch({
      [DETAIL]: () => jsonResponse(200, detail({ tokens, tokenCount: tokens.length })),
      [RUNS]: () => jsonResponse(200, []),
      'POST /api/tokens': () => {
        tokens = [token({ tokenId: 'tok-2', scopes: ['metrics:read', 'pipeline:write'] }), ...tokens]
        return jsonResponse(201, { accessToken: 'a.b.c', tokenId: 'tok-2', expires: '2099-01-01T00:00:00Z' })
      },
    })
    renderPage()
    fireEvent.click(await screen.findByRole('button', { name: 'Create Token' }))
    const dialog = within(screen.getByRole('dialog'))
    expect(dialog.queryByLabelText('Subject')).not.toBeInTheDocument()
    fireEvent.click(dialog.getByRole('button', { name: 'Create Token' }))
    expect(await dialog.findByLabelText('Service token')).toHaveValue('a.b.c')
    expect(await (await waitForRequest(requests, 'POST /api/tokens')).json()).toEqual({
      subject: 'team-a-ci',
      scopes: ['metrics:read', 'pipeline:write'],
    })
    fireEvent.click(dialog.getByRole('button', { name: 'Done' }))
    await waitFor(() => expect(screen.getAllByRole('button', { name: 'Revoke team-a-ci' })).toHaveLength(2))
    expect(screen.getByRole('status')).toHaveTextContent('Created a token for “team-a-ci”.')
  })

  it('revokes one of its tokens', async () => {
    let tokens = [token()]
    mockFetch({
      [DETAIL]: () => jsonResponse(200, detail({ tokens, tokenCount: tokens.length })),
      [RUNS]: () => jsonResponse(200, []),
      'DELETE /api/tokens/tok-1': () => {
        tokens = []
        return new Response(null, { status: 204 })
      },
    })
    renderPage()
    fireEvent.click(await screen.findByRole('button', { name: 'Revoke team-a-ci' }))
    fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Revoke token' }))
    expect(await screen.findByText('No active tokens')).toBeVisible()
    expect(screen.getByRole('status')).toHaveTextContent('Revoked the token for “team-a-ci”')
  })

  it('deletes a run, with its names sent encoded', async () => {
    let runs = [run(), run({ id: 'r2', workload: 'team-a' })]
    const requests = mockFetch({
      [DETAIL]: () => jsonResponse(200, detail()),
      [RUNS]: () => jsonResponse(200, runs),
      'DELETE /api/pipeline/runs/web%2Fapp/r%2F1': () => {
        runs = runs.slice(1)
        return new Response(null, { status: 204 })
      },
    })
    renderPage()
    fireEvent.click(await screen.findByRole('button', { name: 'Delete run r/1 of web/app' }))
    const dialog = within(screen.getByRole('dialog', { name: 'Delete pipeline run' }))
    expect(dialog.getByText('This action cannot be undone')).toBeVisible()
    expect(dialog.getByText(/no longer count in the workload’s daily metrics/)).toBeVisible()
    fireEvent.click(dialog.getByRole('button', { name: 'Delete run' }))
    await waitForRequest(requests, 'DELETE /api/pipeline/runs/web%2Fapp/r%2F1')
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Delete run r/1 of web/app' })).not.toBeInTheDocument())
    expect(screen.getByRole('button', { name: 'Delete run r2 of team-a' })).toBeVisible()
    expect(screen.getByRole('status')).toHaveTextContent('Deleted run #r/1 of web/app')
  })

  it('a disabled one says so and issues no token', async () => {
    mockFetch({ [DETAIL]: () => jsonResponse(200, detail({ disabled: true })), [RUNS]: () => jsonResponse(200, []) })
    renderPage()
    expect(await screen.findByText(/until it is enabled again/)).toBeVisible()
    expect(screen.getByRole('button', { name: 'Create Token' })).toBeDisabled()
    expect(screen.getByRole('button', { name: 'Enable' })).toBeVisible()
    expect(await screen.findByText('Its tokens have recorded no run yet.')).toBeVisible()
  })

  it('deleting it goes back to the list', async () => {
    mockFetch({
      [DETAIL]: () => jsonResponse(200, detail()),
      [RUNS]: () => jsonResponse(200, []),
      'DELETE /api/service-users/7?revokeTokens=true': () => new Response(null, { status: 204 }),
    })
    renderPage()
    fireEvent.click(await screen.findByRole('button', { name: 'Delete' }))
    fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Revoke its token and delete' }))
    expect(await screen.findByText('the list')).toBeVisible()
  })

  it('an unknown id is "not found"', async () => {
    mockFetch({ 'GET /api/service-users/99': () => problem(404, 'Not Found', 'no service user with that id', 'not_found') })
    renderPage('/admin/service-users/99')
    expect(await screen.findByRole('heading', { level: 1, name: 'Service user not found' })).toBeVisible()
    expect(screen.getByRole('link', { name: 'All service users' })).toHaveAttribute('href', '/admin/service-users')
  })
})
