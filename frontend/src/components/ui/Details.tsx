import type { ReactNode } from 'react'

/** Labelled facts, label on the left: a description list. */
export function Details({ children }: { children: ReactNode }) {
  return <dl className="grid grid-cols-[auto_1fr] gap-x-6 gap-y-1.5 text-sm">{children}</dl>
}

/** One fact of a Details list; `className` styles the value ("font-medium break-all"). */
export function Detail({ label, className, children }: { label: string; className?: string; children: ReactNode }) {
  return (
    <>
      <dt className="muted">{label}</dt>
      <dd className={className}>{children}</dd>
    </>
  )
}
