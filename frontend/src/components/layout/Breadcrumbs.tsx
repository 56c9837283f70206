import { ChevronRight } from 'lucide-react'
import { Link } from 'react-router'

export interface Crumb {
  label: string
  to?: string
}

/** "Admin > Service Tokens": every crumb but the last is a link. */
export function Breadcrumbs({ items }: { items: Crumb[] }) {
  return (
    <nav aria-label="Breadcrumb" className="mb-2">
      <ol className="flex flex-wrap items-center gap-1 text-sm">
        {items.map((item, index) => {
          const last = index === items.length - 1
          return (
            <li key={item.label} className="flex items-center gap-1">
              {item.to && !last ? (
                <Link to={item.to} className="link">
                  {item.label}
                </Link>
              ) : (
                <span aria-current={last ? 'page' : undefined} className="muted">
                  {item.label}
                </span>
              )}
              {!last && <ChevronRight aria-hidden="true" className="muted size-4" />}
            </li>
          )
        })}
      </ol>
    </nav>
  )
}
