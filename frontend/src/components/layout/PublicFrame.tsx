import type { ReactNode } from 'react'
import { BrandMark } from './Brand'
import { ThemeToggle } from './ThemeToggle'

/** The frame around the pages a visitor sees before the portal: loading, sign-in, access denied. */
export function PublicFrame({ children }: { children: ReactNode }) {
  return (
    <div className="min-h-screen">
      <header className="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
        <div className="mx-auto flex max-w-5xl items-center justify-between px-4 py-3">
          <div className="flex items-center gap-3">
            <BrandMark />
            <h1 className="text-lg font-semibold">CodeMetrics</h1>
          </div>
          <ThemeToggle />
        </div>
      </header>
      <main className="mx-auto max-w-5xl px-4 py-12">{children}</main>
    </div>
  )
}
