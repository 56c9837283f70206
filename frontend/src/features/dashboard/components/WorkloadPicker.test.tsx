import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { MemoryRouter, useLocation } from 'react-router'
import { describe, expect, it } from 'vitest'
import { jsonResponse, mockFetch, type RecordedRequest } from '../../../test/http'
import { renderWithQuery } from '../../../test/render'
import { DashboardPage } from './DashboardPage'


const RANGE = 'from=2026-11-01&to=2026-11-02'

/** 500 workloads, most recently active first: the real ones, then many old `0-…` ones. */
const real = Array.from({ length: 20 }, (_, i) => `team-${String(i).padStart(2, '0')}`)
const old = Array.from({ length: 480 }, (_, i) => `0-old-${String(i).padStart(3, '0')}`)
const recentFirst = [...real, ...old]

function workloadsResponse(names: string[], total = names.length) {
  return new Response(JSON.stringify({ workloads: names }), {
    status: 200,
    headers: { 'Content-Type': 'application/json', 'X-Total-Count': String(total) },
  })
}

/** POST /api/query: an empty series per workload and query asked for. */
async function answerQuery(request: Request) {
  const body = (await request.json()) as { queries: string[]; workloads: string[] }
  return jsonResponse(200, {
    results: body.workloads.flatMap((workload) => body.queries.map((query) => ({ query, workload, unit: 'percent', points: [] }))),
  })
}

function Location() {
  return <output aria-label="URL">{useLocation().search}</output>
}

function renderAt(search: string, routes: Parameters<typeof mockFetch>[0] = {}) {
  const requests = mockFetch({
    'GET /api/workloads?sort=recent&limit=1000': () => workloadsResponse(recentFirst),
    'GET /api/pipeline/runs?limit=20': () => jsonResponse(200, []),
    'POST /api/query': answerQuery,
    ...routes,
  })
  renderWithQuery(
    <MemoryRouter initialEntries={[`/?${search}`]}>
      <DashboardPage />
      <Location />
    </MemoryRouter>,
  )
  return requests
}

async function queriedWorkloads(requests: RecordedRequest[]) {
  const last = requests.filter((r) => r.key === 'POST /api/query').at(-1)
  return last ? ((await last.request.clone().json()) as { workloads: string[] }).workloads : undefined
}

function urlSelection() {
  return new URLSearchParams(screen.getByLabelText('URL').textContent ?? '').getAll('workload')
}

const chartHeadings = () => screen.queryAllByRole('heading', { level: 2 }).map((h) => h.textContent)
const combobox = () => screen.getByRole('combobox', { name: 'Add or remove a workload' })
/** An option of the picker (the recent runs' workload select has options too). */
const option = (name: string) => within(screen.getByRole('listbox', { name: 'Workloads' })).getByRole('option', { name })

// Hundreds of workloads make a large DOM for jsdom to query on two busy cores.
describe('the workload picker', { timeout: 20_000 }, () => {
  it('charts the dozen most recently active workloads, not the first by name', async () => {
    const requests = renderAt(RANGE)
    await screen.findByRole('heading', { level: 2, name: 'team-00' })
    expect(await queriedWorkloads(requests)).toEqual(real.slice(0, 12))
    expect(chartHeadings()).toEqual(expect.arrayContaining(real.slice(0, 12)))
    expect(chartHeadings()).not.toContain('0-old-000')
    expect(screen.getByText('Charting the 12 most recently active of 500 workloads.')).toBeVisible()
    const chips = within(screen.getByRole('list', { name: 'Charted workloads' })).getAllByRole('listitem')
    expect(chips.map((c) => c.textContent)).toEqual(real.slice(0, 12))
    expect(urlSelection()).toEqual([]) // the default is not written into the URL
  })

  it('lists 50 of 500 workloads with how many more, and narrows them as one types', async () => {
    renderAt(RANGE)
    fireEvent.click(await screen.findByRole('button', { name: 'Show the workloads' }))
    const listbox = screen.getByRole('listbox', { name: 'Workloads' })
    expect(within(listbox).getAllByRole('option')).toHaveLength(50)
    expect(screen.getByText('450 more — type to narrow.')).toBeVisible()
    // Charted ones are marked.
    expect(within(listbox).getByRole('option', { name: 'team-00 (charted)' })).toBeVisible()

    fireEvent.change(combobox(), { target: { value: 'OLD-12' } })
    const options = within(listbox).getAllByRole('option')
    expect(options.map((o) => o.textContent)).toEqual([
      '0-old-120',
      ...Array.from({ length: 9 }, (_, i) => `0-old-12${i + 1}`),
    ])
    expect(screen.getByText('10 workloads.')).toBeVisible()

    fireEvent.change(combobox(), { target: { value: 'nothing-like-it' } })
    expect(within(listbox).queryAllByRole('option')).toHaveLength(0)
    expect(screen.getByText('No workload’s name contains “nothing-like-it”.')).toBeVisible()
  })

  it('adds a workload with the keyboard, charts it first, and keeps the choice in the URL', async () => {
    const requests = renderAt(RANGE)
    await screen.findByRole('heading', { level: 2, name: 'team-00' })
    const input = combobox()
    fireEvent.change(input, { target: { value: '0-old-417' } })
    expect(input).toHaveAttribute('aria-expanded', 'true')
    fireEvent.keyDown(input, { key: 'ArrowDown' })
    fireEvent.keyDown(input, { key: 'Enter' })

    await waitFor(() => expect(urlSelection()).toEqual(['0-old-417', ...real.slice(0, 12)]))
    expect(new URLSearchParams(screen.getByLabelText('URL').textContent ?? '').get('from')).toBe('2026-11-01')
    await screen.findByRole('heading', { level: 2, name: '0-old-417' })
    expect(chartHeadings()[1]).toBe('0-old-417') // after the picker's own heading
    await waitFor(async () => expect(await queriedWorkloads(requests)).toEqual(['0-old-417', ...real.slice(0, 12)]))
    expect(option('0-old-417 (charted)')).toHaveAttribute('aria-selected', 'true')
    expect(screen.getByText('Charting 13 of 500 workloads.')).toBeVisible()

    // Enter again takes it off; so does its chip's button.
    fireEvent.keyDown(input, { key: 'Enter' })
    await waitFor(() => expect(urlSelection()).toEqual(real.slice(0, 12)))
    fireEvent.click(screen.getByRole('button', { name: 'Remove team-03' }))
    await waitFor(() => expect(urlSelection()).not.toContain('team-03'))
    expect(urlSelection()).toHaveLength(11)
    await waitFor(() => expect(screen.queryByRole('heading', { level: 2, name: 'team-03' })).not.toBeInTheDocument())

    // Back to the most recently active: the URL forgets the choice.
    fireEvent.click(screen.getByRole('button', { name: 'Show the most recently active' }))
    await waitFor(() => expect(urlSelection()).toEqual([]))
    expect(screen.getByText('Charting the 12 most recently active of 500 workloads.')).toBeVisible()
  })

  it('charts what a shared link chose, and says which names no workload has', async () => {
    const requests = renderAt(`${RANGE}&workload=0-old-007&workload=gone&workload=team-19`)
    await screen.findByRole('heading', { level: 2, name: '0-old-007' })
    expect(await queriedWorkloads(requests)).toEqual(['0-old-007', 'team-19'])
    expect(screen.getByText('Not charted, as no workload has this name: gone.')).toBeVisible()
  })

  it('charts nothing when every workload was taken off, and says how to add one', async () => {
    const requests = renderAt(`${RANGE}&workload=`)
    expect(await screen.findByText('No workload charted: add one below.')).toBeVisible()
    await screen.findByText('No runs recorded for this workload.')
    expect(requests.map((r) => r.key)).not.toContain('POST /api/query')
  })

  it('refuses a 51st workload, says why, and still takes one off', async () => {
    const fifty = recentFirst.slice(0, 50)
    const requests = renderAt(`${RANGE}&${fifty.map((w) => `workload=${w}`).join('&')}`)
    await screen.findByRole('heading', { level: 2, name: 'team-00' })
    expect(await queriedWorkloads(requests)).toHaveLength(50)
    expect(screen.getByText('50 workloads are charted, the most at once: remove one to add another.')).toBeVisible()

    const input = combobox()
    fireEvent.change(input, { target: { value: '0-old-400' } })
    expect(option('0-old-400')).toHaveAttribute('aria-disabled', 'true')
    fireEvent.click(option('0-old-400'))
    fireEvent.keyDown(input, { key: 'ArrowDown' })
    fireEvent.keyDown(input, { key: 'Enter' })
    expect(urlSelection()).toEqual(fifty)

    fireEvent.click(screen.getByRole('button', { name: 'Remove team-05' }))
    await waitFor(() => expect(urlSelection()).toHaveLength(49))
    expect(option('0-old-400')).toHaveAttribute('aria-disabled', 'false')
    fireEvent.click(option('0-old-400'))
    await waitFor(() => expect(urlSelection()).toEqual(['0-old-400', ...fifty.filter((w) => w !== 'team-05')]))
  })

  it('searches on the server when more workloads exist than were loaded', async () => {
    // (The server sends at most 1000; fewer here keep the test's DOM small: the logic is the same.)
    const loaded = recentFirst.slice(0, 100)
    const requests = renderAt(RANGE, {
      'GET /api/workloads?sort=recent&limit=1000': () => workloadsResponse(loaded, 5000),
      'GET /api/workloads?sort=recent&q=rare&limit=50': () => workloadsResponse(['rare-1', 'rare-2'], 62),
    })
    await screen.findByRole('heading', { level: 2, name: 'team-00' })
    expect(screen.getByText('Charting the 12 most recently active of 5000 workloads.')).toBeVisible()
    fireEvent.change(combobox(), { target: { value: 'rare' } })
    expect(await screen.findByRole('option', { name: 'rare-1' })).toBeVisible()
    expect(screen.getByText('60 more — type to narrow.')).toBeVisible()
    expect(requests.map((r) => r.key)).toContain('GET /api/workloads?sort=recent&q=rare&limit=50')
    fireEvent.click(option('rare-2'))
    await waitFor(() => expect(urlSelection()[0]).toBe('rare-2'))
  })
})
