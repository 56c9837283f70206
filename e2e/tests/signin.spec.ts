import { appURL } from '../fixtures/servers'
import { expect, test, users } from '../fixtures/auth'

// Sign-in through the development OpenID Provider: CodeMetrics redirects to the
// provider, the user signs in on its form, and the provider sends the browser
// back through /auth/callback.

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

test.describe('administrator', () => {
  test.use({ permissions: ['clipboard-read', 'clipboard-write'] })

  test('signs in from a deep link, uses a session token, and signs out', async ({ page, idp, request }) => {
    await page.goto('/admin/service-tokens')
    await page.getByRole('link', { name: 'Sign in' }).click()

    await idp.expectShown()
    await idp.signIn(users.admin)

    await page.getByRole('button', { name: users.admin.name }).click()
    await expect(page.getByText('Signed in as Ada Admin (admin@example.com)')).toBeVisible()
    expect(new URL(page.url()).pathname).toBe('/admin/service-tokens')
    expect(new URL(page.url()).origin).toBe(appURL)

    await page.getByRole('button', { name: 'Copy session token' }).click()
    await expect(page.getByText('Copied')).toBeVisible()
    const sessionToken = await page.evaluate(() => navigator.clipboard.readText())
    expect(sessionToken).toMatch(JWT)
    await expect(page.locator('body')).not.toContainText(sessionToken)

    // The token works on its own, without the browser's cookies.
    const auth = { Authorization: `Bearer ${sessionToken}` }
    const tokens = await request.get('/api/tokens', { headers: auth })
    expect(tokens.status()).toBe(200)
    expect(Array.isArray(await tokens.json())).toBe(true)

    await page.getByRole('button', { name: 'Sign out' }).click()
    await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible()

    // Signing out ends the session, and with it the session token.
    const afterSignOut = await request.get('/api/tokens', { headers: auth })
    expect(afterSignOut.status()).toBe(401)
  })
})

test('a user who is not an administrator gets no session', async ({ page, idp }) => {
  await page.goto('/')
  await page.getByRole('link', { name: 'Sign in' }).click()

  await idp.expectShown()
  await idp.signIn(users.viewer)

  await expect(page.getByRole('heading', { name: 'Access denied' })).toBeVisible()
  expect(new URL(page.url()).origin).toBe(appURL)
  expect(new URL(page.url()).pathname).toBe('/access-denied')
  await expect(page.getByRole('link', { name: 'Sign in with a different account' })).toHaveAttribute(
    'href',
    '/auth/login?redirect=%2F',
  )

  const meStatus = await page.evaluate(async () => (await fetch('/api/auth/me')).status)
  expect(meStatus).toBe(401)
  const cookies = await page.context().cookies(appURL)
  expect(cookies.map((c) => c.name)).not.toContain('codemetrics_session')
})

test('a wrong password is rejected on the provider, and the right one then works', async ({ page, idp }) => {
  await page.goto('/')
  await page.getByRole('link', { name: 'Sign in' }).click()

  await idp.expectShown()
  await idp.signIn({ email: users.admin.email, password: 'not-the-password' })

  await expect(idp.error).toHaveText('Invalid email or password')
  await expect(idp.email).toHaveValue(users.admin.email)
  await expect(idp.password).toHaveValue('')

  await idp.signIn(users.admin)
  await expect(page.getByRole('button', { name: users.admin.name })).toBeVisible()
  expect(new URL(page.url()).pathname).toBe('/')
})
