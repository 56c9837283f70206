import { screen, within } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { describe, expect, it } from 'vitest'
import { jsonResponse, mockFetch } from '../../../test/http'
import { renderWithQuery } from '../../../test/render'
import { describeDetails, describeSource, type AuditEvent } from '../api/audit'
import { AuditLogPage } from './AuditLogPage'

/** The schema says only "object"; the test's details are what the server writes. */
const details = (d: Record<string, unknown>) => d as AuditEvent['details']

function event(over: Partial<AuditEvent>): AuditEvent {
  return {
    id: 1,
    time: new Date().toISOString(),
    actor: 'ada@example.com',
    action: 'token.created',
    target: 'tok-1',
    details: {},
    actorId: '',
    credential: '',
    clientAddress: '',
    requestId: '',
    ...over,
  }
}

describe('AuditLogPage', () => {
  it('shows the credential, client address and request id of every event', async () => {
    mockFetch({
      'GET /api/audit-events?limit=50': () =>
        jsonResponse(200, [
          event({
            id: 2,
            action: 'auth.session_token_issued',
            target: 'ada@example.com',
            credential: 'session:AbCd1234',
            clientAddress: '203.0.113.7',
            requestId: 'f00dfeed12345678',
            details: details({ jti: 'jti-1', expires: '2030-01-01T00:00:00.000Z' }),
          }),
          event({ id: 1, actor: 'cli:ops', credential: 'cli' }),
        ]),
    })
    renderWithQuery(
      <MemoryRouter initialEntries={['/admin/audit-log']}>
        <AuditLogPage />
      </MemoryRouter>,
    )
    expect(await screen.findByRole('columnheader', { name: 'Credential' })).toBeVisible()
    const issued = screen.getByText('session:AbCd1234').closest('tr')!
    expect(within(issued).getByText('Session token issued')).toBeVisible()
    expect(within(issued).getByText(/from 203\.0\.113\.7/)).toBeVisible()
    expect(within(issued).getByText(/request f00dfeed12345678/)).toBeVisible()
    expect(within(issued).getByText('Token jti-1; expires 2030-01-01T00:00:00.000Z')).toBeVisible()
    const cli = screen.getByText('cli:ops').closest('tr')!
    expect(within(cli).getByText('cli')).toBeVisible()
    expect(within(cli).queryByText(/^from /)).not.toBeInTheDocument()
  })
})

describe('describeSource', () => {
  it('says "—" for events recorded before credentials were kept', () => {
    expect(describeSource(event({}))).toEqual({ credential: '—', from: undefined, requestId: undefined })
    expect(describeSource(event({ credential: 'token:abc', clientAddress: '::1', requestId: 'r1' }))).toEqual({
      credential: 'token:abc',
      from: '::1',
      requestId: 'r1',
    })
  })

  it('never shows more of a session token event than its id and expiry', () => {
    expect(describeDetails(event({ action: 'auth.session_token_issued', details: details({ jti: 'j', expires: 'e' }) }))).toBe(
      'Token j; expires e',
    )
  })
})

describe('describeDetails of service users and runs', () => {
  it('says what a change changed, before → after', () => {
    const before = { description: '', scopes: ['metrics:read', 'pipeline:write'], workloads: ['*'], disabled: false, needsReview: true }
    const after = { ...before, workloads: ['team-a'], needsReview: false }
    expect(describeDetails(event({ action: 'service_user.updated', details: details({ id: 7, before, after }) }))).toBe(
      'workloads * → team-a; needsReview true → false',
    )
    expect(
      describeDetails(event({ action: 'service_user.disabled', details: details({ id: 7, before, after: { ...before, disabled: true } }) })),
    ).toBe('disabled false → true')
  })

  it('names what a creation granted, a deletion revoked and a deleted run', () => {
    expect(
      describeDetails(event({ action: 'service_user.created', details: details({ scopes: ['pipeline:write'], workloads: ['team-a', 'team-b'] }) })),
    ).toBe('scopes pipeline:write; workloads team-a team-b')
    expect(describeDetails(event({ action: 'service_user.deleted', details: details({ revokedTokens: 2 }) }))).toBe(
      '2 active token(s) revoked with it',
    )
    expect(
      describeDetails(event({ action: 'token.revoked', details: details({ subject: 'team-a-ci', serviceUserDeleted: true }) })),
    ).toBe('Subject “team-a-ci”, with its service user')
    expect(
      describeDetails(event({ action: 'pipeline_run.deleted', details: details({ id: 'gh-1', workload: 'team-a', serviceUser: 'team-a-ci' }) })),
    ).toBe('Run #gh-1 of team-a recorded by team-a-ci')
  })
})
