import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { defineConfig, devices } from '@playwright/test'
import { appPort as port, appURL as baseURL, idpPort, idpURL } from './fixtures/servers'

// End-to-end tests run the real CodeMetrics binary against a throwaway SQLite
// database and the development OpenID Provider (idp/server.mjs), and drive the
// system Chromium (no Playwright browser download).
//
// Environment:
//   CODEMETRICS_BIN  server binary (default ../bin/codemetrics)
//   CHROMIUM_PATH    Chromium executable (default /usr/bin/chromium)
//   E2E_PORT         port for the server (default 18080)
//   E2E_IDP_PORT     port for the development OpenID Provider (default 19400)

const bin = process.env.CODEMETRICS_BIN || '../bin/codemetrics'

// Test-only key; never use it anywhere else.
const testSigningKey = 'e2e-test-only-signing-key-do-not-use-0123456789x'

// Playwright evaluates this file in the runner and again in each worker; create
// the data directory once and hand it to the workers through the environment.
if (!process.env.CODEMETRICS_E2E_DATA_DIR) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'codemetrics-e2e-'))
  process.env.CODEMETRICS_E2E_DATA_DIR = dir
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
}
const dataDir = process.env.CODEMETRICS_E2E_DATA_DIR

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 5_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: 'list',
  use: {
    ...devices['Desktop Chrome'],
    baseURL,
    headless: true,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
        '--disable-gpu',
      ],
    },
  },
  webServer: [
    {
      command: 'node idp/server.mjs',
      url: `${idpURL}/.well-known/openid-configuration`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'pipe',
      stderr: 'pipe',
      env: {
        APP_ENV: 'development',
        IDP_PORT: String(idpPort),
        IDP_REDIRECT_URIS: `${baseURL}/auth/callback`,
      },
    },
    {
      command: `${bin} serve`,
      url: `${baseURL}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe',
      stderr: 'pipe',
      env: {
        APP_ENV: 'development',
        HTTP_ADDR: `127.0.0.1:${port}`,
        PUBLIC_URL: baseURL,
        DATABASE_DRIVER: 'sqlite',
        DATABASE_DSN: path.join(dataDir, 'e2e.db'),
        TOKEN_SIGNING_KEY: testSigningKey,
        OIDC_ISSUER_URL: idpURL,
        OIDC_CLIENT_ID: 'codemetrics-dev',
        // The development provider's well-known client secret.
        OIDC_CLIENT_SECRET: 'codemetrics-dev-secret',
        ADMIN_GROUPS: 'codemetrics-admins',
      },
    },
  ],
})
