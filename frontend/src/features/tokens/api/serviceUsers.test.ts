import { describe, expect, it } from 'vitest'
import { jsonResponse, mockFetch } from '../../../test/http'
import { serviceUser } from '../testing/fixtures'
import { changeEffects, describeWorkloads, findServiceUser, parseNetworks, parseWorkloads, writesEveryWorkload, type ServiceUser } from './serviceUsers'

const user = (over: Partial<ServiceUser> = {}) => serviceUser({ description: 'Team A', tokenCount: 3, ...over })

describe('parseWorkloads', () => {
  it('splits on commas, spaces and line breaks, and drops empties and repeats', () => {
    expect(parseWorkloads(' team-a, team-b\nteam-a  web/app ,, ')).toEqual(['team-a', 'team-b', 'web/app'])
    expect(parseWorkloads('   ')).toEqual([])
  })
})

describe('writesEveryWorkload', () => {
  it('is pipeline:write on *, nothing else', () => {
    expect(writesEveryWorkload({ scopes: ['pipeline:write'], workloads: ['*'] })).toBe(true)
    expect(writesEveryWorkload({ scopes: ['metrics:read'], workloads: ['*'] })).toBe(false)
    expect(writesEveryWorkload({ scopes: ['pipeline:write'], workloads: ['team-a'] })).toBe(false)
  })
})

describe('describeWorkloads', () => {
  it('names * in words', () => {
    expect(describeWorkloads(['*'])).toBe('every workload (*)')
    expect(describeWorkloads(['a', 'b'])).toBe('a, b')
  })
})

describe('changeEffects', () => {
  it('says which scope the tokens lose and that all of them follow at once', () => {
    expect(changeEffects(user(), { description: 'Team A', scopes: ['metrics:read'], workloads: ['team-a', 'team-a-mobile'], allowedCidrs: [] })).toEqual([
      'Its tokens lose pipeline:write: calls that need it get 403 Forbidden.',
      'This applies at once to all 3 of its active tokens, on every instance within a second; no token needs to be issued again.',
    ])
  })

  it('names the workloads that are refused from now on', () => {
    const effects = changeEffects(user({ tokenCount: 1 }), { description: 'Team A', scopes: user().scopes, workloads: ['team-a'], allowedCidrs: [] })
    expect(effects).toEqual([
      'Its tokens may use only team-a.',
      'Recording into or reading team-a-mobile is refused (403) from now on.',
      'This applies at once to its active token, on every instance within a second; no token needs to be issued again.',
    ])
  })

  it('narrowing a migrated service user from every workload: everything else is refused, and it is reviewed', () => {
    const effects = changeEffects(user({ workloads: ['*'], needsReview: true, tokenCount: 0 }), {
      description: '',
      scopes: user().scopes,
      workloads: ['team-a'],
      allowedCidrs: [],
    })
    expect(effects).toEqual([
      'Its tokens may use only team-a: every other workload is refused (403).',
      'It has no active token: the tokens issued for it from now on act this way.',
      'Saving marks it as reviewed.',
    ])
  })

  it('a gained scope helps only tokens issued with it', () => {
    expect(changeEffects(user({ scopes: ['metrics:read'] }), { description: 'Team A', scopes: ['metrics:read', 'pipeline:write'], workloads: user().workloads, allowedCidrs: [] })[0]).toBe(
      'New tokens can be issued with pipeline:write; an existing token uses it only if it was issued with it.',
    )
  })

  it('a description alone does not touch the tokens', () => {
    expect(changeEffects(user(), { description: 'Other', scopes: user().scopes, workloads: [...user().workloads].reverse(), allowedCidrs: [] })).toEqual([
      'Its tokens are not affected.',
    ])
    expect(changeEffects(user(), { description: ' Team A ', scopes: user().scopes, workloads: user().workloads, allowedCidrs: [] })).toEqual(['Nothing changes.'])
  })
})

describe('changeEffects on networks', () => {
  it('says where its tokens work from, and that anywhere is anywhere', () => {
    const fields = { description: 'Team A', scopes: user().scopes, workloads: user().workloads }
    expect(changeEffects(user({ tokenCount: 1 }), { ...fields, allowedCidrs: ['10.0.0.0/8', '2001:db8::/32'] })[0]).toBe(
      'Its tokens work only from 10.0.0.0/8, 2001:db8::/32: calls from elsewhere get 403 (address_not_allowed).',
    )
    expect(changeEffects(user({ allowedCidrs: ['10.0.0.0/8'] }), { ...fields, allowedCidrs: [] })[0]).toBe('Its tokens work from any address.')
    expect(changeEffects(user({ allowedCidrs: ['10.0.0.0/8'] }), { ...fields, allowedCidrs: ['10.0.0.0/8'] })).toEqual(['Nothing changes.'])
  })
})

describe('parseNetworks', () => {
  it('splits on commas, spaces and line breaks', () => {
    expect(parseNetworks(' 10.0.0.0/8,2001:db8::/32\n10.0.0.0/8 ')).toEqual(['10.0.0.0/8', '2001:db8::/32'])
  })
})

describe('findServiceUser', () => {
  it('finds the exact name among the names that contain it, page after page', async () => {
    const requests = mockFetch({
      'GET /api/service-users?name=ci&limit=1000': () =>
        new Response(JSON.stringify([user({ id: 1, name: 'abc-ci' }), user({ id: 2, name: 'CI' })]), {
          status: 200,
          headers: { 'Content-Type': 'application/json', Link: '</api/service-users?cursor=p2&limit=1000&name=ci>; rel="next"' },
        }),
      'GET /api/service-users?name=ci&limit=1000&cursor=p2': () => jsonResponse(200, [user({ id: 3, name: 'ci' }), user({ id: 4, name: 'ci-2' })]),
    })
    expect((await findServiceUser('ci'))?.id).toBe(3)
    expect(requests).toHaveLength(2)
  })

  it('is null when no name is exactly it', async () => {
    mockFetch({ 'GET /api/service-users?name=ci&limit=1000': () => jsonResponse(200, [user({ name: 'ci-x' })]) })
    expect(await findServiceUser('ci')).toBeNull()
  })
})
