import crypto from 'node:crypto'
import http from 'node:http'
import { expect, test } from '../fixtures/auth'
import { hookPort, hookSecret, hookURL } from '../fixtures/servers'
import { PortalPage } from '../pages/PortalPage'

// Admin > Notifications: a test notification reaches a receiver this test runs (the webhook the
// server was started with), signed so the receiver can check it, and shows in the delivery log.

interface Received {
  path: string
  headers: http.IncomingHttpHeaders
  body: string
}

/** A webhook receiver on the configured port: records each request, answers 204 or, while failing, 500. */
async function startReceiver() {
  const received: Received[] = []
  const state = { failing: false }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      if (state.failing) {
        res.writeHead(500, { 'Content-Type': 'text/plain' })
        res.end('receiver is down for maintenance')
      } else {
        res.writeHead(204)
        res.end()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(hookPort, '127.0.0.1', resolve))
  return { received, state, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

/** What a receiver does with CodeMetrics-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">. */
function verify(r: Received): boolean {
  const fields = Object.fromEntries(String(r.headers['codemetrics-signature'] ?? '').split(',').map((p) => p.split('=', 2)))
  const t = Number(fields.t)
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > 300) return false
  const want = crypto.createHmac('sha256', hookSecret).update(`${fields.t}.${r.body}`).digest()
  const got = Buffer.from(String(fields.v1 ?? ''), 'hex')
  return got.length === want.length && crypto.timingSafeEqual(got, want)
}

test('an administrator sends a test notification to a receiver and sees it in the delivery log', async ({ adminPage: page }) => {
  const receiver = await startReceiver()
  try {
    const portal = new PortalPage(page)
    await portal.mainNav.getByRole('link', { name: 'Administration' }).click()
    await page.getByRole('link', { name: 'Manage Notifications' }).click()
    await portal.expectHeading('Notifications')
    await expect(portal.breadcrumbs).toHaveText(/Admin\s*Notifications/)

    // The webhook shows as scheme and host only: its path, like the secret, is never shown.
    const destinations = page.getByRole('list', { name: 'Destinations' })
    await expect(destinations.getByText(`http://127.0.0.1:${hookPort}/…`, { exact: true })).toBeVisible()
    await expect(page.getByText(/CodeMetrics-Signature, HMAC-SHA256/)).toBeVisible()

    await page.getByRole('button', { name: 'Send a test' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'Test sent' })).toHaveText('Test sent: 1 of 1 delivered.')
    await expect(destinations.getByText('Test delivered')).toBeVisible()

    // The receiver may also have been sent expiry warnings of tokens other tests made (the due
    // check runs every NOTIFY_CHECK_INTERVAL on the same database): signed all the same, and
    // exactly one of them is the test.
    expect(receiver.received.every(verify), 'the receiver can verify every signature').toBe(true)
    const tests = receiver.received.filter((r) => r.headers['codemetrics-event'] === 'notification.test')
    expect(tests).toHaveLength(1)
    const [hook] = tests
    expect(hook.path).toBe(new URL(hookURL).pathname)
    expect(hook.headers['content-type']).toBe('application/json')
    expect(verify(hook), 'the receiver can verify the signature').toBe(true)
    const body = JSON.parse(hook.body) as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(['daysLeft', 'event', 'expires', 'serviceUser', 'subject', 'text', 'tokenId'])
    expect(body.event).toBe('notification.test')
    expect(body.text).toMatch(/CodeMetrics test notification, sent by admin@/)
    expect(hook.headers['codemetrics-delivery']).toMatch(/^\d+$/)

    // The delivery log has it, delivered at the first attempt.
    const testRows = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'Test', exact: true }) })
    await expect(testRows).toHaveCount(1)
    await expect(testRows.first().getByRole('cell').nth(4)).toHaveText('delivered')
    await expect(testRows.first().getByRole('cell').nth(5)).toHaveText('1')

    // A receiver that fails: the page says so, with its answer, and so does the log.
    receiver.state.failing = true
    await page.getByRole('button', { name: 'Send a test' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'Test sent' })).toHaveText('Test sent: 0 of 1 delivered.')
    await expect(destinations.getByText('Test failed')).toBeVisible()
    await expect(destinations.getByText('the receiver answered HTTP 500: receiver is down for maintenance')).toBeVisible()
    await expect(testRows).toHaveCount(2)
    await expect(testRows.first().getByRole('cell').nth(4)).toHaveText('failed')
    await expect(testRows.first().getByRole('cell').nth(6)).toHaveText('the receiver answered HTTP 500: receiver is down for maintenance')

    const text = await page.locator('body').innerText()
    expect(text).not.toContain(hookSecret)
    expect(text).not.toContain(new URL(hookURL).pathname)
  } finally {
    await receiver.close()
  }
})
