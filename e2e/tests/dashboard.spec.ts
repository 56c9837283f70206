import type { APIRequestContext, Page } from '@playwright/test'
import { checkScreen } from '../fixtures/a11y'
import { expect, test, unique } from '../fixtures/auth'
import { PortalPage, TokensPage } from '../pages/PortalPage'

// What service tokens unlock: a CI job records pipeline runs with a pipeline:write token made in
// the portal, and the administrator sees them charted on the dashboard.

const utcDay = (d: Date) => d.toISOString().slice(0, 10)
const HOUR = 3_600_000
const DAY = 24 * HOUR

test.use({ permissions: ['clipboard-read', 'clipboard-write'], viewport: { width: 1280, height: 1000 } })
// The first test needs the fresh database the suite starts with: no run recorded yet.
test.describe.configure({ mode: 'serial' })

function record(request: APIRequestContext, token: string, run: Record<string, unknown>) {
  return request.post('/api/pipeline/runs', { headers: { Authorization: `Bearer ${token}` }, data: run })
}

/** The chart figure of one trend ("Code coverage", "Build success rate") in a workload's section. */
function chart(page: Page, workload: string, title: string) {
  const section = page.getByRole('region', { name: workload, exact: true })
  return section.getByRole('figure', { name: title })
}

test('an empty dashboard shows how to record the first run, and the example works', async ({ adminPage: page, request }) => {
  const workloads = await page.request.get('/api/workloads')
  expect((await workloads.json()) as unknown, 'this test needs a database without pipeline runs').toEqual({ workloads: [] })

  await new PortalPage(page).expectHeading('Dashboard')
  await expect(page.getByRole('heading', { name: 'No pipeline runs yet' })).toBeVisible()
  const example = page.locator('pre').filter({ hasText: 'curl -X POST' })
  await expect(example).toContainText(`${new URL(page.url()).origin}/api/pipeline/runs`)
  await expect(example).toContainText('Authorization: Bearer $CODEMETRICS_TOKEN')

  // The example is a real request: with a pipeline:write token it records a run.
  const tokens = new TokensPage(page)
  await page.getByRole('main').getByRole('link', { name: 'Service Tokens' }).click()
  const token = await tokens.create(unique('first-run'), ['pipeline:write'], ['my-team'])
  await tokens.closeDialog()
  await page.goBack()
  await expect(page.getByRole('heading', { name: 'No pipeline runs yet' })).toBeVisible()
  const shown = /-d '([\s\S]*)'/.exec((await example.textContent()) ?? '')?.[1]
  expect(shown).toBeTruthy()
  const created = await record(request, token, JSON.parse(shown!) as Record<string, unknown>)
  expect(created.status()).toBe(201)

  // Its workload now has a section; the example run is from 2024, outside the default range.
  await page.reload()
  await expect(page.getByRole('heading', { level: 2, name: 'my-team' })).toBeVisible()
  await expect(page.getByRole('region', { name: 'my-team', exact: true })).toContainText('No builds in this range.')
  await expect(chart(page, 'my-team', 'Code coverage')).toHaveCount(0)
  await expect(page.getByRole('table', { name: /Recent pipeline runs/ }).getByRole('row')).toHaveCount(2)
})

test('a pipeline:write token made in the portal records runs that the dashboard charts; a metrics:read token cannot record', async ({
  adminPage: page,
  request,
}) => {
  // Two tokens through the UI, eleven API calls, two full axe runs.
  test.setTimeout(120_000)
  const tokens = new TokensPage(page)
  await tokens.goto()
  const pipelineSubject = unique('ci-pipeline')
  const workload = unique('team')
  const pipelineToken = await tokens.create(pipelineSubject, ['pipeline:write'], [workload])
  await tokens.closeDialog()
  const readerSubject = unique('grafana')
  const readerToken = await tokens.create(readerSubject) // the default scope, metrics:read
  await tokens.closeDialog()
  await expect(tokens.row(pipelineSubject)).toContainText('pipeline:write')
  await expect(tokens.row(pipelineSubject)).not.toContainText('metrics:read')
  await expect(tokens.row(readerSubject)).toContainText('metrics:read')

  // Six runs over three UTC days, as a CI system would send them.
  const now = Date.now()
  const at = (msAgo: number) => new Date(now - msAgo)
  // Today's three runs must all start today (UTC), or soon after midnight the cancelled build
  // would be a day of its own with no coverage: "minutes" shrink so that 35 of them fit.
  const minute = Math.min(60_000, Math.max(100, (now % DAY) / 40))
  const runs = [
    { ago: 3 * DAY, kind: 'build', status: 'success', coverage: 70 },
    { ago: DAY + HOUR, kind: 'build', status: 'failed', coverage: 72 },
    { ago: DAY, kind: 'build', status: 'success', coverage: 76 },
    { ago: 30 * minute, kind: 'build', status: 'success', coverage: 80.5 },
    { ago: 20 * minute, kind: 'build', status: 'cancelled', coverage: null },
    { ago: 10 * minute, kind: 'deploy', status: 'success', coverage: null },
  ].map((r, i) => ({
    id: `${workload}-${i + 1}`,
    workload,
    pipeline: r.kind === 'deploy' ? 'release' : 'build',
    kind: r.kind,
    status: r.status,
    branch: 'main',
    commit: `${(i + 1).toString(16)}abcdef0123`,
    startedAt: at(r.ago + 5 * minute).toISOString(),
    finishedAt: at(r.ago).toISOString(),
    coverage: r.coverage,
    tests: r.kind === 'build' ? { passed: 100 + i, failed: r.status === 'failed' ? 2 : 0, skipped: 1 } : null,
  }))
  for (const run of runs) {
    const response = await record(request, pipelineToken, run)
    expect(response.status(), await response.text()).toBe(201)
  }
  // The same run again is the same run, not a second one.
  const again = await record(request, pipelineToken, runs[0]!)
  expect(again.status()).toBe(200)

  // Least privilege both ways: the reader cannot record, the recorder cannot read.
  const refused = await record(request, readerToken, { ...runs[0]!, id: `${workload}-forged` })
  expect(refused.status()).toBe(403)
  expect(((await refused.json()) as { detail: string }).detail).toContain('pipeline:write')
  const unread = await request.get(`/api/pipeline/runs?workload=${workload}`, { headers: { Authorization: `Bearer ${pipelineToken}` } })
  expect(unread.status()).toBe(403)
  const read = await request.get(`/api/pipeline/runs?workload=${workload}`, { headers: { Authorization: `Bearer ${readerToken}` } })
  expect(read.status()).toBe(200)
  expect((await read.json()) as unknown[]).toHaveLength(runs.length)

  // What the charts must show, day by day (UTC), worked out from the runs themselves.
  const days = [...new Set(runs.map((r) => utcDay(new Date(r.startedAt))))].sort()
  const builds = (day: string) => runs.filter((r) => r.kind === 'build' && utcDay(new Date(r.startedAt)) === day)
  const coverage = days.map((day) => {
    const values = builds(day).flatMap((r) => (r.coverage === null ? [] : [r.coverage]))
    return values.reduce((a, b) => a + b, 0) / values.length
  })
  const successRate = days.map((day) => {
    const finished = builds(day).filter((r) => r.status !== 'cancelled')
    return (100 * finished.filter((r) => r.status === 'success').length) / finished.length
  })
  const pct = (v: number) => `${Number.isInteger(v) ? v : v.toFixed(1)}%`

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click()
  await new PortalPage(page).expectHeading('Dashboard')
  await expect(page.getByLabel('Range', { exact: true })).toHaveValue('30')
  for (const [title, values] of [
    ['Code coverage', coverage],
    ['Build success rate', successRate],
  ] as const) {
    const figure = chart(page, workload, title)
    await expect(figure).toContainText(`Latest ${pct(values.at(-1)!)}`)
    await expect(figure).toContainText(`${days.length} days with builds in this range`)
    // One point per day with builds, drawn by the chart library as SVG.
    await expect(figure.locator('svg .recharts-line-dots circle')).toHaveCount(days.length)
    await expect(figure.locator('svg .recharts-line-curve')).toHaveCount(1)
    // The same numbers, as a table.
    await figure.getByText('Show the numbers').click()
    await expect(figure.getByRole('row')).toHaveCount(days.length + 1)
    await expect(figure.getByRole('cell').filter({ hasText: '%' })).toHaveText(values.map(pct))
  }

  // Hovering the last point shows its day and value.
  const coverageChart = chart(page, workload, 'Code coverage')
  await coverageChart.locator('svg .recharts-line-dots circle').last().hover()
  await expect(coverageChart.getByText(`${pct(coverage.at(-1)!)} · `)).toBeVisible()

  // The recent runs, newest first, for this workload.
  await page.getByLabel('Workload', { exact: true }).selectOption(workload)
  const table = page.getByRole('table', { name: /Recent pipeline runs/ })
  await expect(table.getByRole('row')).toHaveCount(runs.length + 1)
  await expect(table.getByRole('row').nth(1)).toContainText('release')
  await expect(table.getByRole('row').nth(1)).toContainText('Success')
  await expect(table.getByRole('row').filter({ hasText: /Cancelled/ })).toHaveCount(1)
  await expect(table.getByRole('row').filter({ hasText: /Failed/ })).toContainText('2 failed')

  await checkScreen(page, 'dashboard-light')
  await page.emulateMedia({ colorScheme: 'dark' })
  await checkScreen(page, 'dashboard-dark')
  await page.emulateMedia({ colorScheme: 'light' })

  // The date range: a shorter one drops the older days; the range is in the URL.
  const today = utcDay(new Date())
  await page.getByLabel('From', { exact: true }).fill(today)
  await expect(page).toHaveURL(new RegExp(`from=${today}`))
  await expect(page.getByLabel('Range', { exact: true })).toHaveValue('custom')
  const lastDays = days.filter((d) => d >= today).length
  await expect(coverageChart.locator('svg .recharts-line-dots circle')).toHaveCount(lastDays)
  await page.reload()
  await expect(page.getByLabel('From', { exact: true })).toHaveValue(today)

  // A reversed range is explained and not sent.
  await page.getByLabel('To', { exact: true }).fill(days[0]!)
  await expect(page.getByRole('alert')).toContainText('The range is reversed')
  await page.getByLabel('Range', { exact: true }).selectOption('7')
  await expect(page.getByRole('alert')).toHaveCount(0)
  await expect(coverageChart.locator('svg .recharts-line-dots circle')).toHaveCount(days.length)
})
