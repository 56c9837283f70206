import { useTokenCount } from '../api/tokens'

/** How many service tokens are active, as one line of text for the Administration page. */
export function ActiveTokenCount() {
  const count = useTokenCount()
  return (
    <p className="text-sm">
      {count.isSuccess
        ? `${count.data.toLocaleString('en')} active ${count.data === 1 ? 'token' : 'tokens'}`
        : count.isError
          ? 'Active tokens: unknown'
          : 'Counting active tokens…'}
    </p>
  )
}
