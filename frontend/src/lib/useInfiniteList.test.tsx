import type { ReactNode } from 'react'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { act, renderHook, waitFor } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { mockFetch, problem } from '../test/http'
import { client } from './api'
import { fetchListPage, nextCursor, useInfiniteList } from './useInfiniteList'

function page(body: unknown[], headers: Record<string, string> = {}) {
  return () => new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json', ...headers } })
}

function wrapper({ children }: { children: ReactNode }) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  return <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
}

const runs = (workload: string) => (cursor: string | undefined, signal: AbortSignal) =>
  client.GET('/api/pipeline/runs', { params: { query: { limit: 2, workload, cursor } }, signal })

describe('useInfiniteList', () => {
  it('follows the Link header page by page and gathers the items in order', async () => {
    const requests = mockFetch({
      'GET /api/pipeline/runs?limit=2&workload=web': page([{ id: 'a' }, { id: 'b' }], {
        Link: '</api/pipeline/runs?cursor=c%2B1&limit=2&workload=web>; rel="next"',
      }),
      'GET /api/pipeline/runs?limit=2&workload=web&cursor=c%2B1': page([{ id: 'c' }]),
    })
    const { result } = renderHook(() => useInfiniteList(['runs', 'web'], runs('web')), { wrapper })
    await waitFor(() => expect(result.current.isSuccess).toBe(true))
    expect(result.current.data?.items.map((r) => r.id)).toEqual(['a', 'b'])
    expect(result.current.hasNextPage).toBe(true)
    expect(result.current.data?.total).toBeUndefined()

    await act(() => result.current.fetchNextPage())
    await waitFor(() => expect(result.current.data?.items.map((r) => r.id)).toEqual(['a', 'b', 'c']))
    expect(result.current.hasNextPage).toBe(false)
    expect(requests.map((r) => r.key)).toEqual([
      'GET /api/pipeline/runs?limit=2&workload=web',
      'GET /api/pipeline/runs?limit=2&workload=web&cursor=c%2B1',
    ])
  })

  it('reports the total of X-Total-Count when the list sends one', async () => {
    mockFetch({ 'GET /api/tokens?limit=1': page([{ tokenId: 't' }], { 'X-Total-Count': '41' }) })
    const p = await fetchListPage(client.GET('/api/tokens', { params: { query: { limit: 1 } } }))
    expect(p).toEqual({ items: [{ tokenId: 't' }], total: 41, next: undefined })
  })

  it('turns a problem answer into an error', async () => {
    mockFetch({ 'GET /api/pipeline/runs?limit=2&workload=web': () => problem(400, 'Bad Request', 'limit must be a whole number from 1 to 1000') })
    const { result } = renderHook(() => useInfiniteList(['runs', 'bad'], runs('web')), { wrapper })
    await waitFor(() => expect(result.current.isError).toBe(true))
    expect(result.current.error).toMatchObject({ status: 400, detail: 'limit must be a whole number from 1 to 1000' })
  })

  it('reads the cursor of rel="next" only', () => {
    const h = (link: string) => new Headers({ Link: link })
    expect(nextCursor(h('</api/tokens?limit=2&cursor=abc>; rel="next"'))).toBe('abc')
    expect(nextCursor(h('</api/tokens?cursor=old>; rel="prev", </api/tokens?cursor=new>; rel="next"'))).toBe('new')
    expect(nextCursor(h('</api/tokens?cursor=abc>; rel="prev"'))).toBeUndefined()
    expect(nextCursor(new Headers())).toBeUndefined()
  })
})
