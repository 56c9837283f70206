import type { ReactNode } from 'react'
import type { LucideIcon } from 'lucide-react'

/** What a list shows with nothing in it: an icon, what that means, and what to do (a button) below. */
export function EmptyState({ icon: Icon, children, compact = false }: { icon: LucideIcon; children: ReactNode; compact?: boolean }) {
  return (
    <div className={`card flex flex-col items-center text-center ${compact ? 'gap-2 py-8' : 'gap-3 py-12'}`}>
      <Icon aria-hidden="true" className={`muted ${compact ? 'size-7' : 'size-8'}`} />
      {children}
    </div>
  )
}
