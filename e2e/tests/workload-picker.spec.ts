import type { APIRequestContext, Page } from '@playwright/test'
import { checkScreen } from '../fixtures/a11y'
import { expect as baseExpect, test } from '../fixtures/auth'
import { createTokenWithCli } from '../fixtures/cli'
import { recordRun } from '../fixtures/runs'
import { PortalPage } from '../pages/PortalPage'

// The dashboard with more workloads than fit: the most recently active ones are charted, not the
// first by name, and the picker finds, adds and removes the others, the choice kept in the URL.

// Each change of the choice re-renders a dozen pairs of charts: on a busy machine that can take
// longer than the usual 5 s to wait for.
const expect = baseExpect.configure({ timeout: 20_000 })

const DAY = 86_400_000
const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`

test.use({ viewport: { width: 1280, height: 1000 } })

function record(request: APIRequestContext, token: string, workload: string, startedAt: Date, coverage: number) {
  return recordRun(request, token, { id: `run-${workload}`, workload, startedAt, finishedAt: new Date(startedAt.getTime() + 60_000), coverage })
}

/** The names of the charted workloads' sections, top to bottom. */
async function chartedSections(page: Page) {
  const sections = page.getByRole('region').filter({ has: page.getByRole('heading', { level: 2 }) })
  return (await sections.getByRole('heading', { level: 2 }).allTextContents()).filter(
    (name) => name !== 'Workloads' && name !== 'Recent pipeline runs',
  )
}

test('with 60 more workloads, the dashboard charts the most recently active and the picker adds any other', async ({
  adminPage: page,
  request,
}) => {
  test.setTimeout(90_000)
  const token = createTokenWithCli({ subject: `picker-${suffix}`, createdBy: 'e2e', scopes: ['pipeline:write'], workloads: ['*'] })

  // 45 workloads whose names sort first, with runs three weeks old; 15 real ones active just
  // now, a tenth of a second apart, so that their order is known and is the newest of all.
  const now = Date.now()
  const old = Array.from({ length: 45 }, (_, i) => `0-${suffix}-${String(i).padStart(2, '0')}`)
  const recent = Array.from({ length: 15 }, (_, i) => `svc-${suffix}-${String(i).padStart(2, '0')}`)
  for (const [i, workload] of old.entries()) {
    const response = await record(request, token, workload, new Date(now - 21 * DAY + i * 1000), 50 + i)
    expect(response.status(), await response.text()).toBe(201)
  }
  for (const [i, workload] of recent.entries()) {
    const response = await record(request, token, workload, new Date(now - (i + 1) * 100), 80)
    expect(response.status(), await response.text()).toBe(201)
  }
  const dozen = recent.slice(0, 12)

  await page.reload()
  await new PortalPage(page).expectHeading('Dashboard')
  await expect(page.getByRole('heading', { level: 2, name: dozen[11] })).toBeVisible()
  const picker = page.getByRole('region', { name: 'Workloads', exact: true })
  await expect(picker).toContainText(/Charting the 12 most recently active of \d+ workloads\./)
  expect(await chartedSections(page)).toEqual(dozen)
  await expect(picker.getByRole('list', { name: 'Charted workloads' }).getByRole('listitem')).toHaveText(dozen)
  await expect(page.getByRole('heading', { level: 2, name: old[0] })).toHaveCount(0)

  // The list shows 50 workloads at most, and says how to find the others.
  const input = picker.getByRole('combobox', { name: 'Add or remove a workload' })
  const listbox = page.getByRole('listbox', { name: 'Workloads' })
  await input.click()
  await expect(listbox.getByRole('option')).toHaveCount(50)
  await expect(picker.getByText(/^\d+ more — type to narrow\.$/)).toBeVisible()
  await checkScreen(page, 'dashboard-workload-picker')

  // Search, pick with the keyboard: its chart comes first, and the URL has the choice.
  const wanted = old[37]!
  await input.fill(`0-${suffix}-3`)
  await expect(listbox.getByRole('option')).toHaveText(old.slice(30, 40).reverse()) // most recently active first
  await input.fill(wanted)
  await expect(listbox.getByRole('option')).toHaveText([wanted])
  await input.press('ArrowDown')
  await expect(listbox.getByRole('option', { name: wanted })).toHaveAttribute('aria-selected', 'true') // highlighted
  await input.press('Enter')
  await expect(listbox.getByRole('option', { name: `${wanted} (charted)` })).toBeVisible()
  const figure = page.getByRole('region', { name: wanted, exact: true }).getByRole('figure', { name: 'Code coverage' })
  await expect(figure).toContainText('Latest 87%')
  await expect(figure.locator('svg .recharts-line-dots circle')).toHaveCount(1)
  expect(await chartedSections(page)).toEqual([wanted, ...dozen])
  await expect(page).toHaveURL((url) => url.searchParams.getAll('workload').join() === [wanted, ...dozen].join())
  await input.press('Escape')

  // The URL keeps the choice: a reload (or a shared link) charts the same.
  await page.reload()
  await expect(page.getByRole('heading', { level: 2, name: wanted })).toBeVisible()
  await expect(page.getByRole('region', { name: wanted, exact: true }).getByRole('figure', { name: 'Code coverage' })).toContainText(
    'Latest 87%',
  )
  expect(await chartedSections(page)).toEqual([wanted, ...dozen])
  await expect(picker).toContainText(/Charting 13 of \d+ workloads\./)

  // A chip's button takes a workload off; "most recently active" goes back to the default.
  await picker.getByRole('button', { name: `Remove ${dozen[0]}` }).click()
  await expect(page.getByRole('heading', { level: 2, name: dozen[0] })).toHaveCount(0)
  await expect(page).toHaveURL((url) => !url.searchParams.getAll('workload').includes(dozen[0]!) && url.searchParams.has('workload'))
  await picker.getByRole('button', { name: 'Show the most recently active' }).click()
  await expect(page).toHaveURL((url) => !url.searchParams.has('workload'))
  await expect(page.getByRole('heading', { level: 2, name: wanted })).toHaveCount(0)
  expect(await chartedSections(page)).toEqual(dozen)
})
