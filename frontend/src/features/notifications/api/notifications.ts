import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { client, ok, type Schemas } from '../../../lib/api'
import { useInfiniteList } from '../../../lib/useInfiniteList'

/** GET /api/notifications/destinations: where warnings go (never a secret). */
export type NotificationSettings = Schemas['NotificationSettings']

/** One entry of the delivery log. */
export type NotificationDelivery = Schemas['NotificationDelivery']

/** What "Send a test" did at one destination. */
export type TestResult = Schemas['TestNotificationResult']

const settingsKey = ['notifications', 'destinations'] as const
const deliveriesKey = ['notifications', 'deliveries'] as const

export function useNotificationSettings() {
  return useQuery({
    queryKey: settingsKey,
    queryFn: ({ signal }) => ok(client.GET('/api/notifications/destinations', { signal })),
  })
}

export const DELIVERIES_PAGE_SIZE = 50

/** The delivery log, newest first, a page at a time. */
export function useDeliveries() {
  return useInfiniteList(deliveriesKey, (cursor, signal) =>
    client.GET('/api/notifications/deliveries', { params: { query: { limit: DELIVERIES_PAGE_SIZE, cursor } }, signal }),
  )
}

/** Sends a test to every destination; the delivery log is read again afterwards. */
export function useSendTest() {
  const queryClient = useQueryClient()
  return useMutation({
    mutationFn: async () => (await ok(client.POST('/api/notifications/test'))).results,
    onSettled: () => queryClient.invalidateQueries({ queryKey: deliveriesKey }),
  })
}

const EVENT_LABELS: Record<NotificationDelivery['event'], string> = {
  'token.expiring': 'Expiring',
  'token.expired': 'Expired',
  'token.revoked': 'Revoked',
  'token.rotated': 'Rotated',
  'token.grace_ended': 'Grace period ended',
  'token.leaked': 'Reported leaked',
  'token.ended_token_used': 'Ended token still used',
  'notification.test': 'Test',
}

/** The event in words: "Expiring in 7 days", "Revoked", "Test". */
export function eventLabel(d: Pick<NotificationDelivery, 'event' | 'thresholdDays'>): string {
  const label = EVENT_LABELS[d.event] ?? d.event
  if (d.event === 'token.expiring' && d.thresholdDays) {
    return `${label} in ${d.thresholdDays} ${d.thresholdDays === 1 ? 'day' : 'days'}`
  }
  return label
}

export const statusTone = (status: string) =>
  status === 'delivered' ? 'success' : status === 'failed' ? 'danger' : 'warning'
