import type { ReactNode } from 'react'

/** A dialog's buttons, at its foot, below a rule: Cancel first, the action last. */
export function DialogFooter({ children }: { children: ReactNode }) {
  return <div className="flex justify-end gap-2 border-t border-slate-200 pt-4 dark:border-slate-700">{children}</div>
}
