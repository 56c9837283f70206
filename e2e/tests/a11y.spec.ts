import type { Page, TestInfo } from '@playwright/test'
import { createTokenWithCli } from '../fixtures/cli'
import { checkScreen } from '../fixtures/a11y'
import { expect, signInAs, test, users, watchForErrors } from '../fixtures/auth'
import { ServiceUsersPage, TokensPage } from '../pages/PortalPage'

// Every screen, dialogs open, in the light and the dark theme: no serious or critical axe
// violation, and a screenshot of each (E2E_SCREENSHOT_DIR, default screenshots/).

async function check(page: Page, name: string, testInfo: TestInfo) {
  await checkScreen(page, `${name}-${testInfo.project.use.colorScheme ?? scheme}`)
}

let scheme: 'light' | 'dark' = 'light'

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`${colorScheme} theme`, () => {
    test.use({ colorScheme, viewport: { width: 1280, height: 860 }, permissions: ['clipboard-read', 'clipboard-write'] })
    test.beforeEach(() => {
      scheme = colorScheme
      // Ten screens, each with a full axe run.
      test.setTimeout(120_000)
    })

    test('signed out, and access denied', async ({ page }, testInfo) => {
      const errors = watchForErrors(page)
      await page.goto('/admin/service-tokens')
      await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible()
      await check(page, 'sign-in', testInfo)
      await page.goto('/access-denied')
      await expect(page.getByRole('heading', { name: 'Access denied' })).toBeVisible()
      await check(page, 'access-denied', testInfo)
      expect(errors).toEqual([])
    })

    test('portal screens and dialogs', async ({ page }, testInfo) => {
      const errors = watchForErrors(page)
      createTokenWithCli({ subject: 'nightly-export', createdBy: 'ops@example.com', ttl: '240h' })
      createTokenWithCli({ subject: 'grafana-dashboards', createdBy: users.admin.email })
      await signInAs(page, users.admin, '/admin')
      await expect(page.getByRole('heading', { level: 1, name: 'Administration' })).toBeVisible()
      await expect(page.getByText('Service token lifetime')).toBeVisible()
      await expect(page.getByText(/active tokens?$/)).toBeVisible()
      await check(page, 'admin', testInfo)

      await page.getByRole('button', { name: users.admin.name }).click()
      await expect(page.getByRole('button', { name: 'Copy session token' })).toBeVisible()
      await check(page, 'user-menu', testInfo)
      await page.keyboard.press('Escape')

      const tokens = new TokensPage(page)
      await tokens.goto()
      await expect(tokens.row('nightly-export').first()).toBeVisible()
      await check(page, 'service-tokens', testInfo)

      await tokens.createButton.click()
      await tokens.dialog.getByRole('button', { name: 'Create Token' }).click()
      await expect(tokens.dialog.getByText(/^Enter a subject/)).toBeVisible()
      await check(page, 'create-token-dialog', testInfo)
      await tokens.subjectField.fill(`ci-pipeline-${colorScheme}`)
      await tokens.dialog.getByRole('button', { name: 'Create Token' }).click()
      await expect(tokens.tokenValue).toBeVisible()
      await tokens.dialog.getByRole('button', { name: 'Copy token' }).click()
      await expect(tokens.dialog.getByText('Copied', { exact: true })).toBeVisible()
      await check(page, 'token-created-dialog', testInfo)
      await tokens.closeDialog()

      await tokens.revokeButton('nightly-export').first().click()
      await expect(tokens.dialog.getByRole('button', { name: 'Revoke token' })).toBeVisible()
      await check(page, 'revoke-token-dialog', testInfo)
      await page.keyboard.press('Escape')

      await tokens.row('nightly-export').first().getByRole('link', { name: /requests? in the last 30 days$/ }).click()
      await expect(page.getByRole('heading', { level: 1, name: 'nightly-export' })).toBeVisible()
      await expect(page.getByRole('figure', { name: 'Requests per day' })).toBeVisible()
      await check(page, 'service-token', testInfo)

      await page.goto('/admin/audit-log')
      await expect(page.getByRole('heading', { level: 1, name: 'Audit Log' })).toBeVisible()
      await expect(page.getByRole('row').nth(1)).toBeVisible()
      await check(page, 'audit-log', testInfo)

      await page.goto('/admin/notifications')
      await expect(page.getByRole('heading', { level: 1, name: 'Notifications' })).toBeVisible()
      await expect(page.getByRole('list', { name: 'Destinations' })).toBeVisible()
      await expect(page.getByRole('heading', { level: 2, name: 'Delivery log' })).toBeVisible()
      await check(page, 'notifications', testInfo)

      await page.goto('/')
      await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible()
      await check(page, 'home', testInfo)
      expect(errors).toEqual([])
    })

    test('service user screens and dialogs', async ({ page }, testInfo) => {
      const errors = watchForErrors(page)
      // A migrated-like subject: its service user reads every workload.
      createTokenWithCli({ subject: `exporter-${colorScheme}`, createdBy: 'ops@example.com' })
      await signInAs(page, users.admin, '/admin/service-users')
      const serviceUsers = new ServiceUsersPage(page)
      await expect(serviceUsers.row(`exporter-${colorScheme}`)).toBeVisible()
      await check(page, 'service-users', testInfo)

      // The create dialog with pipeline:write on every workload: the warning shows.
      await page.getByRole('button', { name: 'Create Service User' }).first().click()
      await serviceUsers.dialog.getByLabel('Name').fill(`team-a-ci-${colorScheme}`)
      await serviceUsers.dialog.getByRole('checkbox', { name: /pipeline:write/ }).check()
      await serviceUsers.setWorkloads('*')
      await expect(serviceUsers.dialog.getByText('Every workload, with pipeline:write')).toBeVisible()
      await check(page, 'create-service-user-dialog', testInfo)
      await serviceUsers.setWorkloads(['team-a'])
      await serviceUsers.dialog.getByRole('button', { name: 'Create Service User' }).click()
      await expect(page.getByRole('heading', { level: 1, name: `team-a-ci-${colorScheme}` })).toBeVisible()
      await serviceUsers.createToken()
      await expect(page.getByRole('table', { name: 'Active service tokens' })).toBeVisible()
      await check(page, 'service-user', testInfo)

      await page.getByRole('button', { name: 'Edit', exact: true }).click()
      await serviceUsers.setWorkloads(['team-a-mobile'])
      await expect(serviceUsers.dialog.getByText('What this does to its tokens')).toBeVisible()
      await check(page, 'edit-service-user-dialog', testInfo)
      await page.keyboard.press('Escape')
      await page.getByRole('button', { name: 'Delete', exact: true }).click()
      await expect(serviceUsers.dialog.getByRole('button', { name: 'Revoke its token and delete' })).toBeVisible()
      await check(page, 'delete-service-user-dialog', testInfo)
      await page.keyboard.press('Escape')
      expect(errors).toEqual([])
    })
  })
}
