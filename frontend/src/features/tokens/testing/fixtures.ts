// Made-up service users and tokens for the tokens feature's tests, as the API returns them.

import type { ServiceUser } from '../api/serviceUsers'
import type { ServiceToken } from '../api/tokens'

/** A service user named team-a-ci, writing team-a and team-a-mobile, with two active tokens. */
export function serviceUser(over: Partial<ServiceUser> = {}): ServiceUser {
  return {
    id: 7,
    name: 'team-a-ci',
    description: 'Team A pipelines',
    scopes: ['metrics:read', 'pipeline:write'],
    workloads: ['team-a', 'team-a-mobile'],
    allowedCidrs: [],
    disabled: false,
    created: '2026-01-01T00:00:00.000Z',
    createdBy: 'ada@example.com',
    tokenCount: 2,
    lastUsed: null,
    needsReview: false,
    ...over,
  }
}

/** An active, never used pipeline:write token of team-a-ci (no requests in the last 30 days). */
export function serviceToken(over: Partial<ServiceToken> = {}): ServiceToken {
  return {
    tokenId: 'tok-1',
    created: '2026-01-01T00:00:00.000Z',
    expires: '2099-01-01T00:00:00.000Z',
    sub: 'team-a-ci',
    createdBy: 'ada@example.com',
    lastUsed: null,
    scopes: ['pipeline:write'],
    serviceUserId: 7,
    revokedBy: null,
    revocationReason: null,
    description: '',
    status: 'active',
    revoked: null,
    replaces: null,
    replacedBy: null,
    ends: '2099-01-01T00:00:00.000Z',
    stale: false,
    lastUsedAddress: null,
    lastUsedUserAgent: null,
    requests30d: 0,
    dailyRequests30d: Array.from({ length: 30 }, () => 0),
    stillPresented: null,
    ...over,
  }
}
