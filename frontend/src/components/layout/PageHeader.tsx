import { useEffect, type ReactNode } from 'react'
import { Breadcrumbs, type Crumb } from './Breadcrumbs'

interface PageHeaderProps {
  title: string
  description?: ReactNode
  breadcrumbs?: Crumb[]
  actions?: ReactNode
}

/** Breadcrumbs, the page's one <h1>, a description and the page's main actions; sets the document title. */
export function PageHeader({ title, description, breadcrumbs, actions }: PageHeaderProps) {
  useEffect(() => {
    document.title = `${title} · CodeMetrics`
  }, [title])
  return (
    <div className="mb-6">
      {breadcrumbs && <Breadcrumbs items={breadcrumbs} />}
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="min-w-0 space-y-1">
          <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
          {description && <div className="muted max-w-3xl text-sm">{description}</div>}
        </div>
        {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
      </div>
    </div>
  )
}
