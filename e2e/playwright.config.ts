import { defineConfig } from '@playwright/test'
import { common } from './fixtures/config'
import { appURL as baseURL, codemetricsBin, database, idpPort, idpURL, serverEnv } from './fixtures/servers'

// End-to-end tests run the real CodeMetrics binary against a throwaway database (SQLite, or
// MySQL/MariaDB with E2E_DATABASE=mysql) and the development OpenID Provider (idp/server.mjs),
// and drive the system Chromium (no Playwright browser download).
//
// Environment (see fixtures/servers.ts for the rest):
//   CHROMIUM_PATH         Chromium executable (default /usr/bin/chromium)
//   E2E_SCREENSHOT_DIR    where the screenshots spec writes its PNGs (default screenshots/)

// With MySQL the database is made fresh just before the server starts (the webServer starts
// before any globalSetup would run) and dropped by the global teardown.
const serve =
  database === 'mysql'
    ? `node scripts/mysql-database.mjs create && exec ${JSON.stringify(codemetricsBin)} serve`
    : `${JSON.stringify(codemetricsBin)} serve`

export default defineConfig({
  ...common(baseURL),
  timeout: 30_000,
  outputDir: `test-results/${database}`,
  globalTeardown: './global-teardown.ts',
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
      command: serve,
      url: `${baseURL}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe',
      stderr: 'pipe',
      env: serverEnv(),
    },
  ],
})
