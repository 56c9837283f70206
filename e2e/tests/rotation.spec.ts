import { expect, test, unique } from '../fixtures/auth'
import { TokensPage } from '../pages/PortalPage'

// Issue 15's portal: rotate a token from the table with a grace period, copy the successor's
// value (shown once, as at creation), see the old row count down, and read the history.

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

test.use({ permissions: ['clipboard-read', 'clipboard-write'] })

test('an administrator rotates a token, copies the new value, and the old one counts down', async ({ adminPage: page, request }) => {
  const tokens = new TokensPage(page)
  await tokens.goto()
  const subject = unique('rotating-ci')
  const description = `Nightly upload ${subject}`

  // Created with a preset lifetime and a description, which the table shows.
  await tokens.createButton.click()
  await tokens.subjectField.fill(subject)
  await tokens.dialog.getByLabel('Lifetime').selectOption('90')
  await tokens.dialog.getByLabel(/^Description/).fill(description)
  await tokens.dialog.getByRole('button', { name: 'Create Token' }).click()
  await expect(tokens.tokenValue).toBeVisible()
  await tokens.dialog.getByRole('button', { name: 'Copy token' }).click()
  await expect(tokens.dialog.getByText('Copied', { exact: true })).toBeVisible()
  const old = await page.evaluate(() => navigator.clipboard.readText())
  expect(old).toMatch(JWT)
  await tokens.closeDialog()
  await tokens.filter.fill(subject)
  await expect(page).toHaveURL(/subject=/)
  const row = tokens.row(subject)
  await expect(row).toHaveCount(1)
  await expect(row).toContainText(description)
  await expect(row).toContainText(/in 3 months|in 90 days/)

  // Rotate with the default grace period (24 hours): the new value is shown once, with the warnings.
  await tokens.rotateButton(subject).click()
  await expect(tokens.dialog.getByRole('heading', { name: 'Rotate service token' })).toBeVisible()
  await expect(tokens.dialog.getByLabel('Grace period')).toHaveValue('24h')
  await tokens.dialog.getByRole('button', { name: 'Rotate token' }).click()
  await expect(tokens.dialog.getByRole('heading', { name: 'Service token rotated' })).toBeVisible()
  await expect(tokens.dialog.getByText('This token is shown only once')).toBeVisible()
  await expect(tokens.dialog.getByText(/Never commit it/)).toBeVisible()
  await expect(tokens.dialog.getByText(/keeps working until/)).toBeVisible()
  await tokens.dialog.getByRole('button', { name: 'Copy token' }).click()
  await expect(tokens.dialog.getByText('Copied', { exact: true })).toBeVisible()
  const successor = await page.evaluate(() => navigator.clipboard.readText())
  expect(successor).toMatch(JWT)
  expect(successor).not.toBe(old)
  await tokens.closeDialog()
  await expect(page.locator('body')).not.toContainText(successor)
  await expect(page.getByText(`Rotated the token for “${subject}”`)).toBeVisible()

  // Both work during the grace period.
  for (const value of [old, successor]) {
    const res = await request.get('/api/system/config', { headers: { Authorization: `Bearer ${value}` } })
    expect(res.status()).toBe(200)
  }

  // The active list shows the successor, with the description it kept, and the old row's countdown.
  await expect(row).toHaveCount(2)
  const replaced = row.filter({ hasText: 'replaced — stops working in' })
  await expect(replaced).toHaveCount(1)
  await expect(replaced).toContainText('replaced — stops working in 23 h')
  await expect(replaced.getByRole('button', { name: `Rotate ${subject}` })).toHaveCount(0)
  const current = row.filter({ hasText: 'Active' })
  await expect(current).toHaveCount(1)
  await expect(current).toContainText(description)

  // Revoking the old one ends its grace period at once, with a reason; the successor keeps working.
  await replaced.getByRole('button', { name: `Revoke ${subject}` }).click()
  await expect(tokens.dialog.getByText(/ends that grace period now/)).toBeVisible()
  await tokens.dialog.getByLabel(/^Reason/).fill('replaced in CI')
  await tokens.dialog.getByRole('button', { name: 'Revoke token' }).click()
  await expect(tokens.dialog).toBeHidden()
  await expect(row).toHaveCount(1)
  expect((await request.get('/api/system/config', { headers: { Authorization: `Bearer ${old}` } })).status()).toBe(401)
  expect((await request.get('/api/system/config', { headers: { Authorization: `Bearer ${successor}` } })).status()).toBe(200)

  // The history: the old token under Revoked, who did it, when and why; All shows both.
  await page.getByLabel('Status').selectOption('revoked')
  await expect(page).toHaveURL(/status=revoked/)
  await expect(page.getByRole('table', { name: 'Service tokens: revoked' })).toBeVisible()
  await expect(row).toHaveCount(1)
  await expect(row).toContainText('Revoked')
  await expect(row).toContainText(/revoked (just now|1 minute ago) by admin@example\.com/)
  await expect(row).toContainText('“replaced in CI”')
  await expect(row.getByRole('button')).toHaveCount(0)
  await page.getByLabel('Status').selectOption('all')
  await expect(row).toHaveCount(2)
  await page.getByLabel('Status').selectOption('expired')
  await expect(page.getByText(/No expired token’s subject contains/)).toBeVisible()
  await page.getByLabel('Status').selectOption('active')
  await expect(page).not.toHaveURL(/status=/)
  await expect(row).toHaveCount(1)
})
