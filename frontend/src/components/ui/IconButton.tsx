import type { LucideIcon } from 'lucide-react'

interface IconButtonProps {
  icon: LucideIcon
  /** What the button does to what: "Revoke ci-pipeline". */
  label: string
  /** The short tooltip: "Revoke". */
  title: string
  onClick: () => void
  /** Red, for what destroys (delete, revoke). */
  danger?: boolean
}

/** A row's action as an icon: named for screen readers, with a tooltip for the rest. */
export function IconButton({ icon: Icon, label, title, onClick, danger = false }: IconButtonProps) {
  return (
    <button
      type="button"
      className={
        danger ? 'btn-ghost p-2 text-red-700 hover:bg-red-50 dark:text-red-400 dark:hover:bg-red-500/10' : 'btn-ghost p-2'
      }
      aria-label={label}
      title={title}
      onClick={onClick}
    >
      <Icon aria-hidden="true" className="size-4" />
    </button>
  )
}
