import { LoaderCircle } from 'lucide-react'

export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <p role="status" className="muted flex items-center gap-2 py-6 text-sm">
      <LoaderCircle aria-hidden="true" className="size-4 animate-spin" />
      {label}
    </p>
  )
}
