import { useId, type ReactNode } from 'react'
import type { LucideIcon } from 'lucide-react'

interface MessageCardProps {
  icon: LucideIcon
  /** The icon's size and colour. */
  iconClassName: string
  title: string
  children: ReactNode
}

/** A page's one message in a card, centred: signing in, access denied. */
export function MessageCard({ icon: Icon, iconClassName, title, children }: MessageCardProps) {
  const headingId = useId()
  return (
    <section aria-labelledby={headingId} className="card mx-auto max-w-lg space-y-4">
      <div className="flex items-center gap-3">
        <Icon aria-hidden="true" className={iconClassName} />
        <h2 id={headingId} className="text-xl font-semibold">
          {title}
        </h2>
      </div>
      {children}
    </section>
  )
}
