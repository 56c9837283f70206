import { useServiceUserCount } from '../api/serviceUsers'

/** How many service users there are, as one line of text for the Administration page. */
export function ServiceUserCount() {
  const count = useServiceUserCount()
  return (
    <p className="text-sm">
      {count.isSuccess
        ? `${count.data.toLocaleString('en')} ${count.data === 1 ? 'service user' : 'service users'}`
        : count.isError
          ? 'Service users: unknown'
          : 'Counting service users…'}
    </p>
  )
}
