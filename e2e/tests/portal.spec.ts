import { createTokenWithCli } from '../fixtures/cli'
import { expectAcceptedByEveryReplica, expectRefusedByEveryReplica } from '../fixtures/cluster'
import { expect, signInAs, test, users, unique } from '../fixtures/auth'
import { PortalPage, TokensPage } from '../pages/PortalPage'

// The walkthrough of the Service Token Management and Administration Portal documents.

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

test.use({ permissions: ['clipboard-read', 'clipboard-write'] })

test('an administrator creates, uses and revokes a token through the portal', async ({ adminPage: page, request }) => {
  const portal = new PortalPage(page)
  const tokens = new TokensPage(page)

  // Navigation > Administration > "Manage Service Tokens", and back through the breadcrumbs.
  await portal.mainNav.getByRole('link', { name: 'Administration' }).click()
  await portal.expectHeading('Administration')
  for (const card of ['Service Tokens', 'Audit Log', 'Notifications', 'System Settings', 'User Access']) {
    await expect(page.getByRole('heading', { level: 2, name: card })).toBeVisible()
  }
  await expect(page.getByText('Service token lifetime')).toBeVisible()
  await page.getByRole('link', { name: 'Manage Service Tokens' }).click()
  await portal.expectHeading('Service Tokens')
  expect(new URL(page.url()).pathname).toBe('/admin/service-tokens')
  await expect(portal.breadcrumbs).toHaveText(/Admin\s*Service Tokens/)
  await portal.breadcrumbs.getByRole('link', { name: 'Admin' }).click()
  await portal.expectHeading('Administration')
  await portal.mainNav.getByRole('link', { name: 'Service Tokens' }).click()
  await portal.expectHeading('Service Tokens')

  // Create: the value is shown once, with the warnings and a curl example; copy it.
  const subject = unique('ci-pipeline')
  const token = await tokens.create(subject)
  expect(token).toMatch(JWT)
  await expect(tokens.dialog.getByText('This token is shown only once')).toBeVisible()
  await expect(tokens.dialog.getByText(/cannot be retrieved again/)).toBeVisible()
  await expect(tokens.dialog.getByText(/Never commit it/)).toBeVisible()
  await expect(tokens.dialog.getByText(/curl -H "Authorization: Bearer/)).toBeVisible()

  // The copied value works on its own (on a cluster, at once on every replica).
  const config = await request.get('/api/system/config', { headers: { Authorization: `Bearer ${token}` } })
  expect(config.status()).toBe(200)
  await expectAcceptedByEveryReplica(request, token)

  // Closing drops the value: not in the page, the URL or web storage.
  await tokens.closeDialog()
  await expect(page.locator('body')).not.toContainText(token)
  expect(page.url()).not.toContain(token)
  const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }))
  expect(storage).not.toContain(token)

  const row = tokens.row(subject)
  await expect(row).toBeVisible()
  // Cells after the subject: description, status, created, expires, created by.
  await expect(row.getByRole('cell').nth(1)).toHaveText('Active')
  await expect(row.getByRole('cell').nth(2)).toHaveText(/just now|minute/)
  await expect(row.getByRole('cell').nth(3)).toHaveText(/in 1 year|in 12 months/)
  await expect(row.getByRole('cell').nth(4)).toHaveText(users.admin.email)
  await expect(row.getByText('Expiring soon')).toHaveCount(0)
  await expect(row.locator('time').first()).toHaveAttribute('title', /\d{4}/)

  // Revoke through the dialog: details, warning, impact; the row goes and the token gets 401.
  await tokens.revokeButton(subject).click()
  await expect(tokens.dialog).toBeVisible()
  await expect(tokens.dialog.getByText(subject)).toBeVisible()
  await expect(tokens.dialog.getByText(/cannot be undone/).first()).toBeVisible()
  await expect(tokens.dialog.getByText(/401 Unauthorized/)).toBeVisible()
  const deleted = page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().includes('/api/tokens/'))
  await tokens.dialog.getByRole('button', { name: 'Revoke token' }).click()
  expect((await deleted).status()).toBe(204)
  // On a cluster every replica is asked from the 204 on, while the page is checked.
  const refusedEverywhere = expectRefusedByEveryReplica(request, token, Date.now())
  await expect(tokens.dialog).toBeHidden()
  await expect(row).toHaveCount(0)
  await expect(page.getByText(`Revoked the token for “${subject}”`)).toBeVisible()
  const after = await request.get('/api/system/config', { headers: { Authorization: `Bearer ${token}` } })
  expect(after.status()).toBe(401)
  await refusedEverywhere

  // Both actions are in the audit log.
  await portal.mainNav.getByRole('link', { name: 'Audit Log' }).click()
  await portal.expectHeading('Audit Log')
  await expect(portal.breadcrumbs.getByRole('link', { name: 'Admin' })).toBeVisible()
  const events = page.getByRole('row').filter({ hasText: subject })
  await expect(events.filter({ hasText: 'Token revoked' })).toHaveCount(1)
  await expect(events.filter({ hasText: 'Token created' })).toContainText(users.admin.email)
  await page.getByLabel('Action').selectOption('token.revoked')
  await expect(page.getByRole('row').filter({ hasText: 'Token created' })).toHaveCount(0)
  await expect(events.filter({ hasText: 'Token revoked' })).toHaveCount(1)
})

test('a token expiring within 30 days shows the "Expiring soon" badge', async ({ adminPage: page }) => {
  const soon = unique('nightly-export')
  const later = unique('monitoring')
  createTokenWithCli({ subject: soon, createdBy: 'ops@example.com', ttl: '240h' })
  createTokenWithCli({ subject: later, createdBy: 'ops@example.com' })
  const tokens = new TokensPage(page)
  await tokens.goto()
  await tokens.filter.fill(soon)
  await expect(tokens.row(soon)).toBeVisible()
  await expect(tokens.row(soon).getByText('Expiring soon')).toBeVisible()
  await expect(tokens.row(soon)).toContainText('in 10 days')
  await expect(tokens.row(soon)).toContainText('ops@example.com')
  await expect(tokens.row(soon)).toContainText('Never')
  await tokens.filter.fill(later)
  await expect(tokens.row(later)).toBeVisible()
  await expect(tokens.row(soon)).toHaveCount(0)
  await expect(tokens.row(later).getByText('Expiring soon')).toHaveCount(0)
  expect(new URL(page.url()).searchParams.get('subject')).toBe(later)

  // Sorting by expiry puts the 10-day token above the 1-year one.
  await tokens.filter.fill('')
  await expect(page).not.toHaveURL(/subject=/)
  await page.getByLabel('Sort by').selectOption('expires')
  await expect(page).toHaveURL(/sort=expires/)
  await expect(page).not.toHaveURL(/subject=/)
  await expect(tokens.row(soon)).toBeVisible()
  await expect(page.getByText(/^Showing/)).not.toContainText('updating')
  const subjects = page.getByRole('rowheader')
  const all = await subjects.allInnerTexts()
  const iSoon = all.findIndex((t) => t.includes(soon))
  const iLater = all.findIndex((t) => t.includes(later))
  expect(iSoon).toBeGreaterThanOrEqual(0)
  expect(iLater === -1 || iSoon < iLater).toBe(true)
})

test('a subject full of markup is shown as text', async ({ adminPage: page }) => {
  const subject = `<img src=x onerror=alert(1)> ${unique('x')}`
  const tokens = new TokensPage(page)
  await tokens.goto()
  await tokens.create(subject)
  await expect(tokens.dialog.getByText(subject)).toBeVisible()
  await tokens.closeDialog()
  await expect(tokens.row(subject)).toBeVisible()
  await expect(tokens.row(subject).getByRole('rowheader')).toContainText(subject)
  await expect(page.locator('main img')).toHaveCount(0)
  await tokens.revokeButton(subject).click()
  await expect(tokens.dialog.getByText(subject)).toBeVisible()
  await tokens.dialog.getByRole('button', { name: 'Revoke token' }).click()
  await expect(tokens.row(subject)).toHaveCount(0)
})

test('the create dialog explains what is wrong with a subject', async ({ adminPage: page }) => {
  const tokens = new TokensPage(page)
  await tokens.goto()
  await tokens.createButton.click()
  await tokens.dialog.getByRole('button', { name: 'Create Token' }).click()
  await expect(tokens.dialog.getByText(/^Enter a subject/)).toBeVisible()
  await expect(tokens.subjectField).toBeFocused()
  await tokens.subjectField.fill('x'.repeat(101))
  await tokens.dialog.getByRole('button', { name: 'Create Token' }).click()
  await expect(tokens.dialog.getByText(/too long: 101 characters/)).toBeVisible()
  await page.keyboard.press('Escape')
  await expect(tokens.dialog).toBeHidden()
  await expect(tokens.createButton).toBeFocused()
})

test('keyboard only: create and revoke a token', async ({ adminPage: page }) => {
  const tokens = new TokensPage(page)
  await tokens.goto()
  const subject = unique('keyboard')

  await tokens.createButton.focus()
  await page.keyboard.press('Enter')
  await expect(tokens.subjectField).toBeFocused()
  await page.keyboard.type(subject)
  await page.keyboard.press('Enter')
  await expect(tokens.tokenValue).toBeVisible()

  // Focus stays inside the dialog: Tab through to "Copy token", copy, then close with Escape.
  const copy = tokens.dialog.getByRole('button', { name: 'Copy token' })
  for (let i = 0; i < 10 && !(await copy.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => !!document.activeElement?.closest('dialog'))).toBe(true)
  }
  await expect(copy).toBeFocused()
  await page.keyboard.press('Enter')
  await expect(tokens.dialog.getByText('Copied', { exact: true })).toBeVisible()
  await page.keyboard.press('Escape')
  await expect(tokens.dialog).toBeHidden()
  await expect(tokens.createButton).toBeFocused()

  const revoke = tokens.revokeButton(subject)
  await expect(revoke).toBeVisible()
  for (let i = 0; i < 40 && !(await revoke.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab')
  }
  await expect(revoke).toBeFocused()
  await page.keyboard.press('Enter')
  await expect(tokens.dialog.getByRole('button', { name: 'Cancel' })).toBeFocused()
  await page.keyboard.press('Tab')
  await expect(tokens.dialog.getByRole('button', { name: 'Revoke token' })).toBeFocused()
  await page.keyboard.press('Enter')
  await expect(tokens.dialog).toBeHidden()
  await expect(tokens.row(subject)).toHaveCount(0)
})

test('the user menu signs out', async ({ adminPage: page }) => {
  await new PortalPage(page).openUserMenu(users.admin.name)
  await page.getByRole('button', { name: 'Sign out' }).click()
  await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible()
  const me = await page.evaluate(async () => (await fetch('/api/auth/me')).status)
  expect(me).toBe(401)
})

test('User Access lists the live sessions and ends another one', async ({ adminPage: page, browser }) => {
  // The same administrator, signed in on another browser.
  const other = await browser.newContext()
  const otherPage = await other.newPage()
  await signInAs(otherPage, users.admin)
  expect(await otherPage.evaluate(async () => (await fetch('/api/auth/me')).status)).toBe(200)
  const otherSession = await otherPage.evaluate(async () => {
    const res = await fetch('/api/admin/sessions')
    const list = (await res.json()) as { id: string; current: boolean }[]
    return list.find((s) => s.current)!.id
  })

  const portal = new PortalPage(page)
  await portal.mainNav.getByRole('link', { name: 'Administration' }).click()
  await portal.expectHeading('Administration')
  await expect(page.getByRole('heading', { level: 3, name: 'Live sessions' })).toBeVisible()
  const person = page.getByRole('listitem', { name: users.admin.email })
  await expect(person.getByText('this session')).toBeVisible()
  await person.getByRole('button', { name: `End session ${otherSession.slice(0, 8)} of ${users.admin.email}` }).click()
  await expect(page.getByRole('status')).toHaveText(`Ended session ${otherSession.slice(0, 8)} of ${users.admin.email}.`)
  await expect(person.getByText(otherSession.slice(0, 8))).toHaveCount(0)

  // The other browser is signed out at once; this one is not.
  expect(await otherPage.evaluate(async () => (await fetch('/api/auth/me')).status)).toBe(401)
  expect(await page.evaluate(async () => (await fetch('/api/auth/me')).status)).toBe(200)
  await other.close()
})
