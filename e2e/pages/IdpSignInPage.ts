import { expect, type Locator, type Page } from '@playwright/test'
import { idpURL } from '../fixtures/servers'

export interface Credentials {
  email: string
  password: string
}

/** The sign-in form of the development OpenID Provider (idp/server.mjs). */
export class IdpSignInPage {
  readonly heading: Locator
  readonly email: Locator
  readonly password: Locator
  readonly submit: Locator
  readonly error: Locator

  constructor(readonly page: Page) {
    this.heading = page.getByRole('heading', { level: 1, name: 'CodeMetrics development sign-in' })
    this.email = page.getByLabel('Email')
    this.password = page.getByLabel('Password')
    this.submit = page.getByRole('button', { name: 'Sign in' })
    this.error = page.getByRole('alert')
  }

  /** Waits until the browser shows the provider's sign-in form. */
  async expectShown(): Promise<void> {
    await expect(this.heading).toBeVisible()
    expect(new URL(this.page.url()).origin).toBe(idpURL)
    await expect(this.page.getByText('for development only')).toBeVisible()
  }

  async signIn({ email, password }: Credentials): Promise<void> {
    await this.email.fill(email)
    await this.password.fill(password)
    await this.submit.click()
  }
}
