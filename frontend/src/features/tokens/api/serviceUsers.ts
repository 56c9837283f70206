import { useQuery, type QueryClient } from '@tanstack/react-query'
import { client, ok, type Schemas } from '../../../lib/api'
import { fetchListPage, useInfiniteList, useListCount } from '../../../lib/useInfiniteList'
import { tokenKeys, type Scope } from './tokens'

/** A service user, as GET /api/service-users lists it. */
export type ServiceUser = Schemas['ServiceUser']

/** GET /api/service-users/{id}: a service user with its active tokens. */
export type ServiceUserDetail = Schemas['ServiceUserDetail']

/** A pipeline run, as GET /api/pipeline/runs returns it (with the service user that recorded it). */
export type Run = Schemas['Run']

/** As a service user's only workload: every workload, present and future. */
export const EVERY_WORKLOAD = '*'

export const SERVICE_USER_PAGE_SIZE = 50
export const SERVICE_USER_RUNS = 20

export const serviceUserKeys = {
  all: ['service-users'] as const,
  lists: ['service-users', 'list'] as const,
  list: (name: string) => ['service-users', 'list', { name }] as const,
  count: ['service-users', 'count'] as const,
  detail: (id: number) => ['service-users', 'detail', id] as const,
  byName: (name: string) => ['service-users', 'by-name', name] as const,
  runs: (name: string) => ['service-users', 'runs', name] as const,
}

/** The live service users whose name contains `name`, by name, a page at a time ("Load more"). */
export function useServiceUsers(name: string) {
  return useInfiniteList(serviceUserKeys.list(name), (cursor, signal) =>
    client.GET('/api/service-users', {
      params: { query: { limit: SERVICE_USER_PAGE_SIZE, name: name || undefined, cursor } },
      signal,
    }),
  )
}

/** How many service users there are. */
export function useServiceUserCount() {
  return useListCount(serviceUserKeys.count, (signal) => client.GET('/api/service-users', { params: { query: { limit: 1 } }, signal }))
}

function getServiceUser(id: number, signal?: AbortSignal): Promise<ServiceUserDetail> {
  return ok(client.GET('/api/service-users/{serviceUserId}', { params: { path: { serviceUserId: String(id) } }, signal }))
}

/** One service user with its active tokens. */
export function useServiceUser(id: number) {
  return useQuery({
    queryKey: serviceUserKeys.detail(id),
    queryFn: ({ signal }) => getServiceUser(id, signal),
    enabled: Number.isSafeInteger(id) && id > 0,
  })
}

/** How many active tokens a service user has now. */
export async function fetchTokenCount(id: number): Promise<number> {
  return (await getServiceUser(id)).tokenCount
}

/**
 * The live service user named exactly `name` (names are case-sensitive), or null. The list
 * filter matches "contains", so the pages are read until the name turns up or they end.
 */
export async function findServiceUser(name: string, signal?: AbortSignal): Promise<ServiceUser | null> {
  let cursor: string | undefined
  do {
    const page = await fetchListPage(
      client.GET('/api/service-users', { params: { query: { name, limit: 1000, cursor } }, signal }),
    )
    const found = page.items.find((u) => u.name === name)
    if (found) return found
    cursor = page.next
  } while (cursor)
  return null
}

/** The service user named `name` (trimmed), looked up once per name; null when there is none. */
export function serviceUserByNameQuery(name: string) {
  return {
    queryKey: serviceUserKeys.byName(name),
    queryFn: ({ signal }: { signal: AbortSignal }) => findServiceUser(name, signal),
    staleTime: 30_000,
  }
}

/** The runs the service user's tokens recorded, newest first, a page at a time. */
export function useServiceUserRuns(name: string) {
  return useInfiniteList(serviceUserKeys.runs(name), (cursor, signal) =>
    client.GET('/api/pipeline/runs', { params: { query: { serviceUser: name, limit: SERVICE_USER_RUNS, cursor } }, signal }),
  )
}

export interface ServiceUserFields {
  description: string
  scopes: Scope[]
  workloads: string[]
  /** Networks its tokens may be used from (IPv4/IPv6 CIDRs); empty: anywhere. */
  allowedCidrs: string[]
}

export function createServiceUser(name: string, fields: ServiceUserFields): Promise<ServiceUser> {
  return ok(client.POST('/api/service-users', { body: { name, ...fields } }))
}

/** Changes a service user; every one of its tokens follows at once. */
export function updateServiceUser(
  id: number,
  patch: Partial<ServiceUserFields> & { disabled?: boolean },
): Promise<ServiceUser> {
  return ok(
    client.PATCH('/api/service-users/{serviceUserId}', { params: { path: { serviceUserId: String(id) } }, body: patch }),
  )
}

/** Deletes a service user; with `revokeTokens`, its active tokens are revoked with it (else 409 while it has any). */
export async function deleteServiceUser(id: number, revokeTokens: boolean): Promise<void> {
  await ok(
    client.DELETE('/api/service-users/{serviceUserId}', {
      params: { path: { serviceUserId: String(id) }, query: revokeTokens ? { revokeTokens: 'true' } : {} },
    }),
  )
}

/** Deletes one run (administrators): its metrics are corrected. A "/" in a name is sent as %2F. */
export async function deleteRun(workload: string, runId: string): Promise<void> {
  await ok(client.DELETE('/api/pipeline/runs/{workload}/{runId}', { params: { path: { workload, runId } } }))
}

/** After a change to service users: every list, count and page of them, and the token lists (they show the subjects). */
export function refreshServiceUsers(queryClient: QueryClient) {
  void queryClient.invalidateQueries({ queryKey: serviceUserKeys.all })
  void queryClient.invalidateQueries({ queryKey: tokenKeys.all })
}

/** Workload names typed as a list: separated by commas, spaces or line breaks; duplicates dropped. */
export function parseWorkloads(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))]
}

/** Networks typed as a list: separated by commas, spaces or line breaks; duplicates dropped. */
export function parseNetworks(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))]
}

/** Whether a service user may record runs into every workload: pipeline:write on `*`. */
export function writesEveryWorkload(user: { scopes: readonly string[]; workloads: readonly string[] }): boolean {
  return user.scopes.includes('pipeline:write') && user.workloads.includes(EVERY_WORKLOAD)
}

/** A list of workloads in words: "every workload" for `*`. */
export function describeWorkloads(workloads: readonly string[]): string {
  if (workloads.includes(EVERY_WORKLOAD)) return 'every workload (*)'
  return workloads.join(', ')
}

/** "3 tokens", "1 token", "no token". */
export function tokenCount(n: number): string {
  if (n === 0) return 'no active token'
  return `${n.toLocaleString('en')} active ${n === 1 ? 'token' : 'tokens'}`
}

/**
 * What saving `after` over `before` does to the service user's tokens, sentence by sentence
 * (the edit dialog shows it before anything is sent). A token acts with the scopes it was
 * issued with that its service user still holds, on its service user's workloads.
 */
export function changeEffects(before: ServiceUser, after: ServiceUserFields): string[] {
  const effects: string[] = []
  const lost = before.scopes.filter((s) => !after.scopes.includes(s))
  const gained = after.scopes.filter((s) => !before.scopes.includes(s))
  const sameWorkloads =
    before.workloads.length === after.workloads.length && before.workloads.every((w) => after.workloads.includes(w))
  if (lost.length > 0) {
    effects.push(`Its tokens lose ${lost.join(' and ')}: calls that need it get 403 Forbidden.`)
  }
  if (gained.length > 0) {
    effects.push(
      `New tokens can be issued with ${gained.join(' and ')}; an existing token uses it only if it was issued with it.`,
    )
  }
  if (!sameWorkloads) {
    const dropped = before.workloads.includes(EVERY_WORKLOAD)
      ? []
      : before.workloads.filter((w) => !after.workloads.includes(w) && !after.workloads.includes(EVERY_WORKLOAD))
    effects.push(
      after.workloads.includes(EVERY_WORKLOAD)
        ? 'Its tokens may use every workload, present and future.'
        : `Its tokens may use only ${after.workloads.join(', ')}${
            before.workloads.includes(EVERY_WORKLOAD) ? ': every other workload is refused (403).' : '.'
          }`,
    )
    if (dropped.length > 0) effects.push(`Recording into or reading ${dropped.join(', ')} is refused (403) from now on.`)
  }
  const beforeNets = before.allowedCidrs ?? []
  const sameNetworks =
    beforeNets.length === after.allowedCidrs.length && beforeNets.every((n) => after.allowedCidrs.includes(n))
  if (!sameNetworks) {
    effects.push(
      after.allowedCidrs.length === 0
        ? 'Its tokens work from any address.'
        : `Its tokens work only from ${after.allowedCidrs.join(', ')}: calls from elsewhere get 403 (address_not_allowed).`,
    )
  }
  if (effects.length === 0) {
    effects.push(before.description === after.description.trim() ? 'Nothing changes.' : 'Its tokens are not affected.')
  } else {
    effects.push(
      before.tokenCount === 0
        ? 'It has no active token: the tokens issued for it from now on act this way.'
        : `This applies at once to ${before.tokenCount === 1 ? 'its active token' : `all ${before.tokenCount.toLocaleString('en')} of its active tokens`}, on every instance within a second; no token needs to be issued again.`,
    )
  }
  if (before.needsReview) effects.push('Saving marks it as reviewed.')
  return effects
}
