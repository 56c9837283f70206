import type { APIRequestContext, Locator, Page } from '@playwright/test'
import { expect, test, unique } from '../fixtures/auth'
import { TokensPage } from '../pages/PortalPage'

// Issue 16's usage and leaks in the portal: real calls with a token show in its sparkline and
// on its page (the daily chart and the client that made them), a leaked value is found and
// opened from "Find a token by its value", and an ended token that is still presented says so
// on its history row. Usage is flushed every USAGE_FLUSH_INTERVAL (1 s in these tests), so the
// checks reload until it shows instead of waiting for a fixed time.

test.use({ permissions: ['clipboard-read', 'clipboard-write'] })

// Each test creates tokens through the portal and then waits for a flush or two.
test.beforeEach(() => test.setTimeout(60_000))

const USER_AGENT = 'e2e-usage-probe/1.0'

function call(request: APIRequestContext, value: string, method: 'GET' | 'POST', path: string) {
  const headers = { Authorization: `Bearer ${value}`, 'User-Agent': USER_AGENT }
  return method === 'GET' ? request.get(path, { headers }) : request.post(path, { headers, data: {} })
}

/** Reloads the page until `check` passes: the usage is written once per flush interval. */
async function untilFlushed(page: Page, check: () => Promise<void>) {
  await expect(async () => {
    await page.reload()
    await check()
  }).toPass({ timeout: 20_000, intervals: [500, 1_000] })
}

async function createAndFilter(tokens: TokensPage, subject: string): Promise<{ value: string; row: Locator }> {
  const value = await tokens.create(subject)
  await tokens.closeDialog()
  await tokens.filter.fill(subject)
  await expect(tokens.page).toHaveURL(/subject=/)
  const row = tokens.row(subject)
  await expect(row).toHaveCount(1)
  return { value, row }
}

test('a token’s requests show in its sparkline and on its page', async ({ adminPage: page, request }) => {
  const tokens = new TokensPage(page)
  await tokens.goto()
  const subject = unique('usage-probe')
  const { value, row } = await createAndFilter(tokens, subject)
  await expect(row.getByRole('img', { name: '0 requests in the last 30 days' })).toBeVisible()
  await expect(row).toContainText('Never')

  // Five accepted calls, and one refused: the token (metrics:read) may not record runs.
  for (let i = 0; i < 5; i++) expect((await call(request, value, 'GET', '/api/workloads')).status()).toBe(200)
  expect((await call(request, value, 'POST', '/api/pipeline/runs')).status()).toBe(403)

  await untilFlushed(page, async () => {
    await expect(row.getByRole('img', { name: '6 requests in the last 30 days' })).toBeVisible({ timeout: 1_000 })
  })
  await expect(row.getByText('127.0.0.1')).toBeVisible()

  // The sparkline leads to the token's page: its daily chart and the client that called.
  await row.getByRole('link', { name: '6 requests in the last 30 days' }).click()
  await expect(page.getByRole('heading', { level: 1, name: subject })).toBeVisible()
  await expect(page).toHaveURL(/\/admin\/service-tokens\/[^/?]+$/)
  const chart = page.getByRole('figure', { name: 'Requests per day' })
  await expect(chart).toContainText('6 requests, 1 refused, on 1 day of 30.')
  await expect(chart.locator('.recharts-bar-rectangle').first()).toBeVisible()
  const clients = page.getByRole('table', { name: 'Recent clients' })
  const client = clients.getByRole('row').filter({ hasText: USER_AGENT })
  await expect(client).toHaveCount(1)
  await expect(client.getByRole('rowheader')).toHaveText('127.0.0.1')
  await expect(client.getByRole('cell').last()).toHaveText('6')
  const details = page.getByRole('region', { name: 'Details' })
  await expect(details).toContainText(`Last user agent${USER_AGENT}`)

  // The longer range asks again and still holds today's requests.
  await page.getByLabel('Range').selectOption('90')
  await expect(page).toHaveURL(/days=90/)
  await expect(chart).toContainText('6 requests, 1 refused, on 1 day of 90.')
})

test('a leaked value is found and its token page opened', async ({ adminPage: page }) => {
  const tokens = new TokensPage(page)
  await tokens.goto()
  const subject = unique('leaked-job')
  const { value } = await createAndFilter(tokens, subject)

  const finder = page.getByRole('region', { name: 'Find a token by its value' })
  await finder.getByLabel('Token value').fill(value)
  await finder.getByRole('button', { name: 'Find token' }).click()
  await expect(finder.getByRole('link', { name: subject })).toBeVisible()
  await expect(finder.getByLabel('Token value')).toHaveValue('')
  const tokenId = (await finder.locator('xpath=.//dt[normalize-space()="Token id"]/following-sibling::dd[1]').textContent())!.trim()
  expect(tokenId).not.toBe('')

  await finder.getByRole('link', { name: 'Open token page' }).click()
  await expect(page.getByRole('heading', { level: 1, name: subject })).toBeVisible()
  await expect(page.getByRole('region', { name: 'Details' })).toContainText(tokenId)
  await expect(page.locator('body')).not.toContainText(value)
})

test('an ended token still presented says so on its history row', async ({ adminPage: page, request }) => {
  const tokens = new TokensPage(page)
  await tokens.goto()
  const subject = unique('forgotten-job')
  const { value } = await createAndFilter(tokens, subject)

  await tokens.revokeButton(subject).click()
  await tokens.dialog.getByRole('button', { name: 'Revoke token' }).click()
  await expect(tokens.dialog).toBeHidden()
  expect((await call(request, value, 'GET', '/api/workloads')).status()).toBe(401)

  await page.getByLabel('Status').selectOption('revoked')
  const row = tokens.row(subject)
  await expect(row).toHaveCount(1)
  await untilFlushed(page, async () => {
    await expect(row).toContainText('Still presented 1 time, last from 127.0.0.1', { timeout: 1_000 })
  })
  await expect(row).toContainText(/Still presented 1 time, last from 127\.0\.0\.1, (just now|1 minute ago)/)
})
