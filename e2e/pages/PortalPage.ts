import { expect, type Locator, type Page } from '@playwright/test'

/** The signed-in portal: navigation, breadcrumbs, user menu. */
export class PortalPage {
  readonly mainNav: Locator
  readonly breadcrumbs: Locator
  readonly heading: Locator

  constructor(readonly page: Page) {
    this.mainNav = page.getByRole('navigation', { name: 'Main' })
    this.breadcrumbs = page.getByRole('navigation', { name: 'Breadcrumb' })
    this.heading = page.getByRole('heading', { level: 1 })
  }

  async openUserMenu(name: string) {
    const button = this.page.getByRole('button', { name })
    if ((await button.getAttribute('aria-expanded')) !== 'true') await button.click()
  }

  async expectHeading(text: string) {
    await expect(this.heading).toHaveText(text)
  }
}

/** Admin > Service Tokens. */
export class TokensPage {
  readonly createButton: Locator
  readonly dialog: Locator
  readonly subjectField: Locator
  readonly tokenValue: Locator
  readonly notice: Locator
  readonly filter: Locator

  constructor(readonly page: Page) {
    this.createButton = page.getByRole('button', { name: 'Create Token' }).first()
    this.dialog = page.getByRole('dialog')
    this.subjectField = this.dialog.getByLabel('Subject')
    this.tokenValue = this.dialog.getByLabel('Service token')
    this.notice = page.getByRole('status').filter({ hasText: /Created a token|Revoked the token|Rotated the token/ })
    this.filter = page.getByLabel('Filter by subject')
  }

  async goto() {
    await this.page.goto('/admin/service-tokens')
    await expect(this.page.getByRole('heading', { level: 1, name: 'Service Tokens' })).toBeVisible()
  }

  row(subject: string): Locator {
    return this.page.getByRole('row').filter({ has: this.page.getByRole('rowheader', { name: subject }) })
  }

  rotateButton(subject: string): Locator {
    return this.page.getByRole('button', { name: `Rotate ${subject}`, exact: true })
  }

  revokeButton(subject: string): Locator {
    return this.page.getByRole('button', { name: `Revoke ${subject}`, exact: true })
  }

  /**
   * Creates a token through the dialog and returns its value (read from the clipboard). A new
   * subject with pipeline:write is a new service user, which needs `workloads` (names, or '*').
   */
  async create(subject: string, scopes?: string[], workloads?: string[] | '*'): Promise<string> {
    await this.createButton.click()
    await this.subjectField.fill(subject)
    if (scopes) {
      for (const box of await this.dialog.getByRole('checkbox').all()) {
        const scope = (await box.locator('xpath=..').locator('code').textContent()) ?? ''
        await box.setChecked(scopes.includes(scope))
      }
    }
    if (workloads === '*') await this.dialog.getByRole('radio', { name: /Every workload/ }).check()
    else if (workloads) await this.dialog.getByLabel('Workload names').fill(workloads.join(', '))
    await this.dialog.getByRole('button', { name: 'Create Token' }).click()
    await expect(this.tokenValue).toBeVisible()
    await this.dialog.getByRole('button', { name: 'Copy token' }).click()
    await expect(this.dialog.getByText('Copied', { exact: true })).toBeVisible()
    return this.page.evaluate(() => navigator.clipboard.readText())
  }

  async closeDialog() {
    await this.dialog.getByRole('button', { name: 'Done' }).click()
    await expect(this.dialog).toBeHidden()
  }
}

/** Admin > Service Users, and one service user's page. */
export class ServiceUsersPage {
  readonly dialog: Locator
  readonly notice: Locator

  constructor(readonly page: Page) {
    this.dialog = page.getByRole('dialog')
    this.notice = page.getByRole('status').filter({ hasText: /Created|Saved|Disabled|Enabled|Deleted|Revoked/ })
  }

  async goto() {
    await this.page.goto('/admin/service-users')
    await expect(this.page.getByRole('heading', { level: 1, name: 'Service Users' })).toBeVisible()
  }

  row(name: string): Locator {
    return this.page.getByRole('row').filter({ has: this.page.getByRole('rowheader', { name }) })
  }

  /** Creates a service user through the dialog; ends on its page. */
  async create(options: { name: string; description?: string; scopes: string[]; workloads: string[] | '*' }) {
    await this.page.getByRole('button', { name: 'Create Service User' }).first().click()
    await this.dialog.getByLabel('Name').fill(options.name)
    if (options.description) await this.dialog.getByLabel(/^Description/).fill(options.description)
    for (const box of await this.dialog.getByRole('checkbox').all()) {
      const scope = (await box.locator('xpath=..').locator('code').textContent()) ?? ''
      await box.setChecked(options.scopes.includes(scope))
    }
    await this.setWorkloads(options.workloads)
    await this.dialog.getByRole('button', { name: 'Create Service User' }).click()
    await expect(this.page.getByRole('heading', { level: 1, name: options.name })).toBeVisible()
  }

  async setWorkloads(workloads: string[] | '*') {
    if (workloads === '*') {
      await this.dialog.getByRole('radio', { name: /Every workload/ }).check()
    } else {
      await this.dialog.getByRole('radio', { name: 'Only these workloads' }).check()
      await this.dialog.getByLabel('Workload names').fill(workloads.join(', '))
    }
  }

  /** On a service user's page: issues a token through the dialog and returns its value. */
  async createToken(): Promise<string> {
    await this.page.getByRole('button', { name: 'Create Token' }).click()
    await this.dialog.getByRole('button', { name: 'Create Token' }).click()
    await expect(this.dialog.getByLabel('Service token')).toBeVisible()
    await this.dialog.getByRole('button', { name: 'Copy token' }).click()
    await expect(this.dialog.getByText('Copied', { exact: true })).toBeVisible()
    const value = await this.page.evaluate(() => navigator.clipboard.readText())
    await this.dialog.getByRole('button', { name: 'Done' }).click()
    await expect(this.dialog).toBeHidden()
    return value
  }
}
