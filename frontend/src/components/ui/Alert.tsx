import type { ReactNode } from 'react'
import { AlertTriangle, CircleCheck, Info, OctagonAlert } from 'lucide-react'

const styles = {
  info: ['border-blue-300 bg-blue-50 text-blue-950 dark:border-blue-400/40 dark:bg-blue-950/40 dark:text-blue-100', Info],
  warning: ['border-amber-300 bg-amber-50 text-amber-950 dark:border-amber-400/40 dark:bg-amber-950/40 dark:text-amber-100', AlertTriangle],
  error: ['border-red-300 bg-red-50 text-red-950 dark:border-red-400/40 dark:bg-red-950/40 dark:text-red-100', OctagonAlert],
  success: ['border-green-300 bg-green-50 text-green-950 dark:border-green-400/40 dark:bg-green-950/40 dark:text-green-100', CircleCheck],
} as const

interface AlertProps {
  tone: keyof typeof styles
  title?: string
  children?: ReactNode
  /** "alert" interrupts screen readers; use it for errors that need attention now. */
  role?: 'alert' | 'status'
}

export function Alert({ tone, title, children, role }: AlertProps) {
  const [classes, Icon] = styles[tone]
  return (
    <div role={role} className={`flex gap-3 rounded-md border p-3 text-sm ${classes}`}>
      <Icon aria-hidden="true" className="mt-0.5 size-4 shrink-0" />
      <div className="min-w-0 space-y-1">
        {title && <p className="font-semibold">{title}</p>}
        {children}
      </div>
    </div>
  )
}
