import { expect, test, unique } from '../fixtures/auth'
import { TokensPage } from '../pages/PortalPage'

// Run by playwright.cluster.config.ts against three replicas behind HAProxy: the browser goes
// through HAProxy, the checks below ask each replica directly.

const replicas = (process.env.E2E_CLUSTER_REPLICAS ?? '').split(',').filter(Boolean)

test.use({ permissions: ['clipboard-read', 'clipboard-write'] })

test('a token revoked in the portal is refused by every replica within a second @cluster', async ({
  adminPage: page,
  request,
}) => {
  expect(replicas, 'E2E_CLUSTER_REPLICAS names the three replicas').toHaveLength(3)
  const tokens = new TokensPage(page)
  await tokens.goto()
  const subject = unique('cluster')
  const token = await tokens.create(subject)
  await tokens.closeDialog()
  const auth = { headers: { Authorization: `Bearer ${token}` } }

  // Created through one replica, accepted at once by each.
  for (const url of replicas) {
    expect((await request.get(`${url}/api/system/config`, auth)).status(), url).toBe(200)
  }

  await tokens.revokeButton(subject).click()
  const deleted = page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().includes('/api/tokens/'))
  await tokens.dialog.getByRole('button', { name: 'Revoke token' }).click()
  expect((await deleted).status()).toBe(204)
  const revokedAt = Date.now()

  // Each replica, asked over and over from the moment the browser had the 204: until its 401.
  const refusedAfter = await Promise.all(
    replicas.map(async (url) => {
      for (;;) {
        const res = await request.get(`${url}/api/system/config`, auth)
        const ms = Date.now() - revokedAt
        if (res.status() === 401) {
          expect((await res.json()).code, url).toBe('token_revoked')
          return ms
        }
        expect(res.status(), url).toBe(200)
        expect(ms, `${url} still accepts the revoked token`).toBeLessThan(1000)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }),
  )
  console.log(`revoked token refused by ${replicas.map((u, i) => `${u} after ${refusedAfter[i]} ms`).join(', ')}`)
  expect(Math.max(...refusedAfter)).toBeLessThanOrEqual(1000)
})
