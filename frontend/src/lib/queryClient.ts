import { QueryClient } from '@tanstack/react-query'
import { ApiError } from './api'

/** One query client for the app: no retries on client errors, which will not get better. */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: (failures, error) => !(error instanceof ApiError && error.status < 500) && failures < 2,
        refetchOnWindowFocus: false,
        staleTime: 10_000,
      },
    },
  })
}
