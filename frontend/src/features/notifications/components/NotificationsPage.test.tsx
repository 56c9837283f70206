import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { describe, expect, it } from 'vitest'
import { jsonResponse, mockFetch, problem } from '../../../test/http'
import { renderWithQuery } from '../../../test/render'
import { eventLabel, type NotificationDelivery, type NotificationSettings } from '../api/notifications'
import { NotificationsPage } from './NotificationsPage'

const settings: NotificationSettings = {
  destinations: [
    { id: 'webhook:3f2a9c0d5e6b7a81', kind: 'webhook', destination: 'https://hooks.slack.com/…' },
    { id: 'webhook:0011223344556677', kind: 'webhook', destination: 'https://hooks.slack.com/… (2)' },
    { id: 'email:ops@example.com', kind: 'email', destination: 'ops@example.com' },
  ],
  webhookSigned: true,
  emailServer: 'smtps://mailer@smtp.example.com:465',
  checkInterval: '1m0s',
  checkIntervalSeconds: 60,
  thresholdDays: [30, 7, 1],
}

function delivery(over: Partial<NotificationDelivery>): NotificationDelivery {
  return {
    id: 1,
    event: 'token.expiring',
    tokenId: 'tok-1',
    subject: 'ci-pipeline',
    thresholdDays: 7,
    destination: 'https://hooks.slack.com/…',
    kind: 'webhook',
    status: 'delivered',
    attempts: 1,
    lastError: null,
    created: new Date().toISOString(),
    lastAttempt: new Date().toISOString(),
    nextAttempt: null,
    ...over,
  }
}

function renderPage() {
  return renderWithQuery(
    <MemoryRouter initialEntries={['/admin/notifications']}>
      <NotificationsPage />
    </MemoryRouter>,
  )
}

describe('NotificationsPage', () => {
  it('lists the destinations as the server shows them and the delivery log, page by page', async () => {
    const log = [
      delivery({
        id: 3,
        status: 'pending',
        attempts: 2,
        lastError: 'the receiver answered HTTP 502: Bad Gateway',
        nextAttempt: new Date(Date.now() + 60_000).toISOString(),
      }),
      delivery({ id: 2, event: 'token.revoked', thresholdDays: null, kind: 'email', destination: 'ops@example.com' }),
    ]
    const requests = mockFetch({
      'GET /api/notifications/destinations': () => jsonResponse(200, settings),
      'GET /api/notifications/deliveries?limit=50': () =>
        new Response(JSON.stringify(log), {
          status: 200,
          headers: { 'Content-Type': 'application/json', Link: '</api/notifications/deliveries?cursor=c2&limit=50>; rel="next"' },
        }),
      'GET /api/notifications/deliveries?limit=50&cursor=c2': () =>
        jsonResponse(200, [delivery({ id: 1, event: 'notification.test', tokenId: null, subject: null, thresholdDays: null })]),
    })
    renderPage()

    const list = await screen.findByRole('list', { name: 'Destinations' })
    expect(within(list).getByText('https://hooks.slack.com/… (2)')).toBeVisible()
    expect(within(list).getByText('ops@example.com')).toBeVisible()
    expect(screen.getByText(/NOTIFY_WEBHOOK_SECRET is set; never shown/)).toBeVisible()
    expect(screen.getByText('smtps://mailer@smtp.example.com:465')).toBeVisible()
    expect(screen.getByText(/Warnings go out 30, 7 and 1 days before .* Each instance checks every minute\./)).toBeVisible()

    const pending = (await screen.findByText('the receiver answered HTTP 502: Bad Gateway')).closest('tr')!
    expect(within(pending).getByText('Expiring in 7 days')).toBeVisible()
    expect(within(pending).getByText('ci-pipeline')).toBeVisible()
    expect(within(pending).getByText('pending')).toBeVisible()
    expect(within(pending).getByText(/next try/)).toBeVisible()
    expect(within(pending).getByText('2')).toBeVisible()
    expect(screen.getByText('Revoked').closest('tr')).toHaveTextContent('ops@example.com')

    fireEvent.click(screen.getByRole('button', { name: 'Load more' }))
    expect(await screen.findByText('Test')).toBeVisible()
    expect(screen.getByText('Showing 3 deliveries')).toBeVisible()
    expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument()
    expect(requests.map((r) => r.key)).toContain('GET /api/notifications/deliveries?limit=50&cursor=c2')
  })

  it('sends a test and shows each destination’s result, then reads the log again', async () => {
    let logReads = 0
    const requests = mockFetch({
      'GET /api/notifications/destinations': () => jsonResponse(200, settings),
      'GET /api/notifications/deliveries?limit=50': () => {
        logReads++
        return jsonResponse(200, [])
      },
      'POST /api/notifications/test': () =>
        jsonResponse(200, {
          results: [
            { ...settings.destinations[0], status: 'delivered', error: null },
            { ...settings.destinations[1], status: 'failed', error: 'the receiver answered HTTP 404: no such hook' },
            { ...settings.destinations[2], status: 'delivered', error: null },
          ],
        }),
    })
    renderPage()
    expect(await screen.findByText('Nothing has been sent yet.')).toBeVisible()
    fireEvent.click(await screen.findByRole('button', { name: 'Send a test' }))

    expect(await screen.findByRole('status')).toHaveTextContent('Test sent: 2 of 3 delivered.')
    const failed = screen.getByText('https://hooks.slack.com/… (2)').closest('li')!
    expect(within(failed).getByText('Test failed')).toBeVisible()
    expect(within(failed).getByText('the receiver answered HTTP 404: no such hook')).toBeVisible()
    expect(within(screen.getByText('ops@example.com').closest('li')!).getByText('Test delivered')).toBeVisible()
    expect(requests.filter((r) => r.key === 'POST /api/notifications/test')).toHaveLength(1)
    await waitFor(() => expect(logReads).toBeGreaterThanOrEqual(2))
  })

  it('says what to configure when there is no destination, and cannot send a test', async () => {
    mockFetch({
      'GET /api/notifications/destinations': () =>
        jsonResponse(200, { ...settings, destinations: [], webhookSigned: false, emailServer: null }),
      'GET /api/notifications/deliveries?limit=50': () => jsonResponse(200, []),
    })
    renderPage()
    expect(await screen.findByText(/No destination is configured/)).toBeVisible()
    expect(screen.getByRole('button', { name: 'Send a test' })).toBeDisabled()
    expect(screen.getByText(/NOTIFY_WEBHOOK_SECRET is not set/)).toBeVisible()
  })

  it('shows why the test could not be sent', async () => {
    mockFetch({
      'GET /api/notifications/destinations': () => jsonResponse(200, settings),
      'GET /api/notifications/deliveries?limit=50': () => jsonResponse(200, []),
      'POST /api/notifications/test': () => problem(503, 'Service Unavailable', 'database unreachable', 'database_unavailable'),
    })
    renderPage()
    fireEvent.click(await screen.findByRole('button', { name: 'Send a test' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('Could not send the test: database unreachable')
  })
})

describe('eventLabel', () => {
  it('names each event, with the threshold of a warning', () => {
    expect(eventLabel({ event: 'token.expiring', thresholdDays: 1 })).toBe('Expiring in 1 day')
    expect(eventLabel({ event: 'token.expiring', thresholdDays: 30 })).toBe('Expiring in 30 days')
    expect(eventLabel({ event: 'token.grace_ended', thresholdDays: null })).toBe('Grace period ended')
  })
})
