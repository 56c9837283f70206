import type { APIRequestContext } from '@playwright/test'
import { expect, test, users, unique } from '../fixtures/auth'
import { recordRun } from '../fixtures/runs'
import { PortalPage, ServiceUsersPage, TokensPage } from '../pages/PortalPage'

// A token belongs to a service user, and what the token may do is its service user's role and
// workloads as they are now: created, narrowed, disabled and enabled in the portal, each change
// reaching the token at once without touching it.

test.use({ permissions: ['clipboard-read', 'clipboard-write'], viewport: { width: 1280, height: 1000 } })

let runs = 0

/** Records one run into `workload` with `token`, as a CI job would. */
function record(request: APIRequestContext, token: string, workload: string) {
  runs += 1
  const finished = Date.now() - 60_000
  return recordRun(request, token, {
    id: `${workload}-${runs}`,
    workload,
    startedAt: new Date(finished - 300_000),
    finishedAt: new Date(finished),
    coverage: 81.5,
    tests: { passed: 10, failed: 0, skipped: 0 },
  })
}

async function refusal(response: Awaited<ReturnType<typeof record>>) {
  return (await response.json()) as { code: string; detail: string }
}

test('a service user for one workload: its token records there only; narrowing and disabling reach the token at once', async ({
  adminPage: page,
  request,
}) => {
  test.setTimeout(90_000)
  const portal = new PortalPage(page)
  const serviceUsers = new ServiceUsersPage(page)
  const name = unique('team-a-ci')
  const mine = unique('team-a')
  const other = unique('team-b')

  // Administration > the Service Users card > Create Service User, for one workload.
  await portal.mainNav.getByRole('link', { name: 'Administration' }).click()
  await expect(page.getByRole('heading', { level: 2, name: 'Service Users' })).toBeVisible()
  await page.getByRole('link', { name: 'Manage Service Users' }).click()
  await portal.expectHeading('Service Users')
  await expect(portal.breadcrumbs).toHaveText(/Admin\s*Service Users/)
  await serviceUsers.create({ name, description: 'Team A pipelines', scopes: ['metrics:read', 'pipeline:write'], workloads: [mine] })
  await expect(serviceUsers.notice).toContainText(`Created the service user “${name}”`)
  const details = page.getByRole('region', { name: 'Details' })
  await expect(details).toContainText('metrics:read pipeline:write')
  await expect(details).toContainText(mine)
  await expect(portal.breadcrumbs).toHaveText(new RegExp(`Admin\\s*Service Users\\s*${name}`))

  // Its token, issued on its page, listed in the same table as on Service Tokens.
  const token = await serviceUsers.createToken()
  const tokens = page.getByRole('table', { name: 'Active service tokens' })
  await expect(tokens.getByRole('rowheader', { name })).toBeVisible()
  await expect(tokens.getByRole('rowheader', { name })).toContainText('metrics:read pipeline:write')
  const self = await request.get('/api/tokens/self', { headers: { Authorization: `Bearer ${token}` } })
  expect(self.status()).toBe(200)
  const { tokenId } = (await self.json()) as { tokenId: string }

  // Its workload: accepted. Another: refused, naming the workload.
  const accepted = await record(request, token, mine)
  expect(accepted.status(), await accepted.text()).toBe(201)
  expect(((await accepted.json()) as { serviceUser: string }).serviceUser).toBe(name)
  const refused = await record(request, token, other)
  expect(refused.status()).toBe(403)
  expect(await refusal(refused)).toMatchObject({
    code: 'workload_forbidden',
    detail: `service user "${name}" may not record a run into workload "${other}": it holds ${mine}; an administrator can change its workloads`,
  })
  // Nothing was created for the refused workload.
  const workloads = (await (await page.request.get('/api/workloads')).json()) as { workloads: string[] }
  expect(workloads.workloads).toContain(mine)
  expect(workloads.workloads).not.toContain(other)

  // Its page lists the run it recorded.
  await page.reload()
  const recorded = page.getByRole('table', { name: new RegExp(`Runs recorded by ${name}`) })
  await expect(recorded.getByRole('row')).toHaveCount(2)
  await expect(recorded).toContainText(mine)
  await expect(recorded).toContainText(`token:${tokenId}`)

  // Widen to both workloads: the same token may now record into the other one.
  await page.getByRole('button', { name: 'Edit', exact: true }).click()
  await expect(serviceUsers.dialog).toBeVisible()
  await serviceUsers.setWorkloads([mine, other])
  await expect(serviceUsers.dialog).toContainText(`Its tokens may use only ${[mine, other].join(', ')}.`)
  await serviceUsers.dialog.getByRole('button', { name: 'Save changes' }).click()
  await expect(serviceUsers.dialog).toBeHidden()
  await expect(serviceUsers.notice).toContainText(`Saved the service user “${name}”`)
  expect((await record(request, token, other)).status()).toBe(201)

  // Narrow to the other one: the dialog says what is refused, and the next call into it is.
  await page.getByRole('button', { name: 'Edit', exact: true }).click()
  await serviceUsers.setWorkloads([other])
  await expect(serviceUsers.dialog).toContainText(`Recording into or reading ${mine} is refused (403) from now on.`)
  await expect(serviceUsers.dialog).toContainText('applies at once to its active token')
  await serviceUsers.dialog.getByRole('button', { name: 'Save changes' }).click()
  await expect(serviceUsers.dialog).toBeHidden()
  await expect(details).not.toContainText(mine)
  const narrowed = await record(request, token, mine)
  expect(narrowed.status()).toBe(403)
  expect(await refusal(narrowed)).toMatchObject({
    code: 'workload_forbidden',
    detail: `service user "${name}" may not record a run into workload "${mine}": it holds ${other}; an administrator can change its workloads`,
  })
  expect((await record(request, token, other)).status()).toBe(201)
  // The token itself was not touched: still the same one, still active, still listed.
  const still = await request.get('/api/tokens/self', { headers: { Authorization: `Bearer ${token}` } })
  expect(still.status()).toBe(200)
  expect(((await still.json()) as { tokenId: string }).tokenId).toBe(tokenId)
  await expect(tokens.locator(`[data-token-id="${tokenId}"]`)).toBeVisible()

  // Disable: the token is refused at once, not revoked; the list shows the badge.
  await page.getByRole('button', { name: 'Disable', exact: true }).click()
  await expect(serviceUsers.dialog).toContainText('has 1 active token')
  await expect(serviceUsers.dialog).toContainText('Its tokens are not revoked')
  await serviceUsers.dialog.getByRole('button', { name: 'Disable service user' }).click()
  await expect(serviceUsers.dialog).toBeHidden()
  await expect(serviceUsers.notice).toContainText(`Disabled the service user “${name}”`)
  await expect(page.getByRole('button', { name: 'Create Token' })).toBeDisabled()
  const disabled = await record(request, token, other)
  expect(disabled.status()).toBe(403)
  expect(await refusal(disabled)).toMatchObject({
    code: 'service_user_disabled',
    detail: `service user "${name}" is disabled: its tokens are refused until an administrator enables it again`,
  })
  await serviceUsers.goto()
  await page.getByLabel('Filter by name').fill(name)
  await expect(serviceUsers.row(name)).toContainText('Disabled')
  await expect(serviceUsers.row(name)).toContainText(other)

  // Enable it again from the list: the same token works again.
  await page.getByRole('button', { name: `Enable ${name}`, exact: true }).click()
  await serviceUsers.dialog.getByRole('button', { name: 'Enable service user' }).click()
  await expect(serviceUsers.dialog).toBeHidden()
  await expect(serviceUsers.row(name)).not.toContainText('Disabled')
  expect((await record(request, token, other)).status()).toBe(201)

  // On Service Tokens, the token's subject leads to its service user.
  const tokensPage = new TokensPage(page)
  await tokensPage.goto()
  await tokensPage.filter.fill(name)
  await tokensPage.row(name).getByRole('link', { name }).click()
  await portal.expectHeading(name)

  // The audit log has each change, before → after.
  await page.goto('/admin/audit-log')
  const events = page.getByRole('row').filter({ hasText: name })
  await expect(events.filter({ hasText: 'Service user changed' })).toHaveCount(2)
  await expect(events.filter({ hasText: 'Service user changed' }).first()).toContainText(`workloads ${mine} ${other} → ${other}`)
  await page.getByLabel('Action').selectOption('service_user.disabled')
  await expect(events.filter({ hasText: 'Service user changed' })).toHaveCount(0)
  await expect(events).toContainText('disabled false → true')
  await expect(events).toContainText(users.admin.email)
})

test('deleting a service user with tokens offers to revoke them with it', async ({ adminPage: page, request }) => {
  const serviceUsers = new ServiceUsersPage(page)
  const name = unique('exporter')
  await serviceUsers.goto()
  await serviceUsers.create({ name, scopes: ['metrics:read'], workloads: '*' })
  await expect(page.getByRole('region', { name: 'Details' })).toContainText('every workload (*)')
  const token = await serviceUsers.createToken()
  expect((await request.get('/api/workloads', { headers: { Authorization: `Bearer ${token}` } })).status()).toBe(200)

  await page.getByRole('button', { name: 'Delete', exact: true }).click()
  await expect(serviceUsers.dialog).toContainText('This action cannot be undone')
  await expect(serviceUsers.dialog).toContainText('It has an active token. Deleting it revokes it with it')
  await serviceUsers.dialog.getByRole('button', { name: 'Revoke its token and delete' }).click()
  await expect(page.getByRole('heading', { level: 1, name: 'Service Users' })).toBeVisible()
  await expect(serviceUsers.notice).toContainText(`Deleted the service user “${name}” and revoked its token.`)
  expect((await request.get('/api/workloads', { headers: { Authorization: `Bearer ${token}` } })).status()).toBe(401)
  await page.getByLabel('Filter by name').fill(name)
  await expect(page.getByText(`No service user's name contains “${name}”.`)).toBeVisible()
})

test('the Create Token dialog asks a new service user with pipeline:write for its workloads', async ({ adminPage: page, request }) => {
  const tokens = new TokensPage(page)
  const subject = unique('nightly-ci')
  const workload = unique('nightly')
  await tokens.goto()
  await tokens.createButton.click()
  await tokens.subjectField.fill(subject)
  await tokens.dialog.getByRole('checkbox', { name: /pipeline:write/ }).check()
  await expect(tokens.dialog.getByText(`No service user is named “${subject}” yet`)).toBeVisible()
  await tokens.dialog.getByRole('button', { name: 'Create Token' }).click()
  await expect(tokens.dialog.getByText(/Name at least one workload/)).toBeVisible()
  await expect(tokens.dialog.getByLabel('Workload names')).toBeFocused()

  // Every workload is a choice made on purpose, with a warning.
  await tokens.dialog.getByRole('radio', { name: /Every workload/ }).check()
  await expect(tokens.dialog.getByText('Every workload, with pipeline:write')).toBeVisible()
  await tokens.dialog.getByRole('radio', { name: 'Only these workloads' }).check()
  await tokens.dialog.getByLabel('Workload names').fill(workload)
  await tokens.dialog.getByRole('button', { name: 'Create Token' }).click()
  await expect(tokens.tokenValue).toBeVisible()
  const token = await tokens.tokenValue.inputValue()
  await tokens.closeDialog()
  expect((await record(request, token, workload)).status()).toBe(201)

  // The same subject again is its service user: no workloads asked, and its rights are named.
  await tokens.createButton.click()
  await tokens.subjectField.fill(subject)
  await tokens.dialog.getByRole('checkbox', { name: /pipeline:write/ }).check()
  await expect(tokens.dialog.getByText(/is an existing service user/)).toContainText(`its workloads (${workload})`)
  await expect(tokens.dialog.getByLabel('Workload names')).toHaveCount(0)
  await page.keyboard.press('Escape')
  await expect(tokens.dialog).toBeHidden()
})
