import { expect, test, type Page } from '@playwright/test'

/** Collects uncaught page errors and Content-Security-Policy violations. */
function watchForErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) errors.push(msg.text())
  })
  return errors
}

test('home page shows the product and a sign-in link when signed out', async ({ page }) => {
  const errors = watchForErrors(page)
  await page.goto('/')

  await expect(page.getByRole('heading', { level: 1, name: 'CodeMetrics' })).toBeVisible()
  const signIn = page.getByRole('link', { name: 'Sign in' })
  await expect(signIn).toBeVisible()
  await expect(signIn).toHaveAttribute('href', /^\/auth\/login\?redirect=/)
  expect(await signIn.getAttribute('href')).toBe('/auth/login?redirect=%2F')
  expect(errors).toEqual([])
})

test('deep links serve the single-page app, also on reload', async ({ page }) => {
  const errors = watchForErrors(page)
  await page.goto('/admin/service-tokens')
  await page.reload()

  await expect(page.getByRole('heading', { level: 1, name: 'CodeMetrics' })).toBeVisible()
  await expect(page.getByRole('link', { name: 'Sign in' })).toHaveAttribute(
    'href',
    '/auth/login?redirect=%2Fadmin%2Fservice-tokens',
  )
  expect(errors).toEqual([])
})

test('unknown API routes return a 404 problem document, not the app', async ({ request }) => {
  const response = await request.get('/api/does-not-exist')
  expect(response.status()).toBe(404)
  expect(response.headers()['content-type']).toMatch(/^application\/(problem\+)?json/)
  const body: unknown = await response.json()
  expect(body).toEqual(expect.objectContaining({ title: expect.any(String) }))
})
