import { backdateToken, tokenIdOf } from '../fixtures/db'
import { expect, test, unique } from '../fixtures/auth'
import { createTokenWithCli } from '../fixtures/cli'
import { TokensPage } from '../pages/PortalPage'

// Issue 16: a token not used for STALE_AFTER (90 days; never used and older counts too) carries a
// Stale badge, and "Stale only" lists just those.

test('an administrator finds the stale tokens', async ({ adminPage: page, request }) => {
  const prefix = unique('stale-check')
  const old = createTokenWithCli({ subject: `${prefix}-old`, createdBy: 'e2e' })
  createTokenWithCli({ subject: `${prefix}-recent`, createdBy: 'e2e' })
  const oldButUsed = createTokenWithCli({ subject: `${prefix}-used`, createdBy: 'e2e' })
  for (const value of [old, oldButUsed]) backdateToken(tokenIdOf(value), 100)
  // Used just now: not stale however old it is.
  expect((await request.get('/api/system/config', { headers: { Authorization: `Bearer ${oldButUsed}` } })).status()).toBe(200)

  const tokens = new TokensPage(page)
  await tokens.goto()
  await tokens.filter.fill(prefix)
  await expect(tokens.row(`${prefix}-recent`)).toHaveCount(1)
  await expect(tokens.row(`${prefix}-old`)).toContainText('Stale')
  await expect(tokens.row(`${prefix}-recent`)).not.toContainText('Stale')

  // The box follows the URL, so it shows checked once the navigation has re-rendered the page.
  await page.getByLabel('Stale only').click()
  await expect(page.getByLabel('Stale only')).toBeChecked()
  await expect(page).toHaveURL(/stale=true/)
  await expect(tokens.row(`${prefix}-old`)).toHaveCount(1)
  await expect(tokens.row(`${prefix}-recent`)).toHaveCount(0)
  // Last use is written every USAGE_FLUSH_INTERVAL: the used one leaves the stale list once it is.
  await expect(async () => {
    await page.reload()
    await expect(tokens.row(`${prefix}-used`)).toHaveCount(0)
  }).toPass({ timeout: 15_000 })
  await expect(tokens.row(`${prefix}-old`)).toHaveCount(1)
})
