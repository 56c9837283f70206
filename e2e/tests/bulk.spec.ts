import { expect, test, unique } from '../fixtures/auth'
import { TokensPage } from '../pages/PortalPage'

// Issue 16's "acting on many tokens" in the portal: filter, export what the filter selects as
// CSV, select every matching token, see the dry run's count, and revoke them at once.

test.use({ permissions: ['clipboard-read', 'clipboard-write'] })

test('an administrator exports and revokes every token a filter selects', async ({ adminPage: page, request }) => {
  const tokens = new TokensPage(page)
  await tokens.goto()
  const prefix = unique('retired-jobs')
  const values: string[] = []
  for (const n of [1, 2]) {
    values.push(await tokens.create(`${prefix}-${n}`))
    await tokens.closeDialog()
  }
  const keeper = unique('kept-job')
  const kept = await tokens.create(keeper)
  await tokens.closeDialog()

  await tokens.filter.fill(prefix)
  await expect(page).toHaveURL(/subject=/)
  await expect(tokens.row(keeper)).toHaveCount(0)
  await expect(tokens.row(`${prefix}-1`)).toHaveCount(1)

  // The export holds the filtered tokens' metadata, never their values.
  const exportLink = page.getByRole('link', { name: 'Export CSV' })
  const href = await exportLink.getAttribute('href')
  expect(href).toContain(`subject=${prefix}`)
  const csv = await page.request.get(href!)
  expect(csv.status()).toBe(200)
  expect(csv.headers()['content-type']).toContain('text/csv')
  const lines = (await csv.text()).trim().split(/\r?\n/)
  expect(lines[0]).toMatch(/^tokenId,sub,description,scopes,status/)
  expect(lines).toHaveLength(3)
  for (const value of [...values, kept]) expect(lines.join('\n')).not.toContain(value.split('.')[2])

  // Select every matching token; the dialog names them and a dry run counts the active ones.
  await page.getByRole('button', { name: 'Select all matching' }).click()
  await expect(page.getByText('2 selected')).toBeVisible()
  await page.getByRole('button', { name: 'Revoke selected' }).click()
  await expect(tokens.dialog.getByRole('heading', { name: 'Revoke 2 service tokens' })).toBeVisible()
  await expect(tokens.dialog).toContainText(`${prefix}-1`)
  await expect(tokens.dialog.getByText('Checked just now: 2 to revoke.')).toBeVisible()
  await tokens.dialog.getByLabel(/^Reason/).fill('jobs retired')
  await tokens.dialog.getByRole('button', { name: 'Revoke tokens' }).click()
  await expect(tokens.dialog).toBeHidden()
  await expect(page.getByText('Bulk revocation: 2 revoked.')).toBeVisible()
  await expect(tokens.row(`${prefix}-1`)).toHaveCount(0)

  // Both stop working; the token outside the filter keeps working.
  for (const value of values) {
    const res = await request.get('/api/system/config', { headers: { Authorization: `Bearer ${value}` } })
    expect(res.status()).toBe(401)
  }
  expect((await request.get('/api/system/config', { headers: { Authorization: `Bearer ${kept}` } })).status()).toBe(200)

  // The history shows why.
  await page.getByLabel('Status').selectOption('revoked')
  await expect(tokens.row(`${prefix}-2`)).toContainText('“jobs retired”')
})
