import type { ReactNode } from 'react'
import { BellRing, Bot, ChartLine, ClipboardList, KeyRound, LayoutDashboard } from 'lucide-react'
import { NavLink, Outlet } from 'react-router'
import { BrandMark } from './Brand'
import { ThemeToggle } from './ThemeToggle'

const navLink = ({ isActive }: { isActive: boolean }) =>
  `flex items-center gap-2 rounded-md px-3 py-2 text-sm font-medium ${
    isActive
      ? 'bg-blue-50 text-blue-800 dark:bg-blue-500/15 dark:text-blue-200'
      : 'text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800'
  }`

/** The signed-in portal: header with the user menu (passed in by the app), main navigation, and the page. */
export function AppShell({ userMenu }: { userMenu: ReactNode }) {
  return (
    <div className="min-h-screen">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 dark:focus:bg-slate-900"
      >
        Skip to content
      </a>
      <header className="sticky top-0 z-10 border-b border-slate-200 bg-white/95 dark:border-slate-800 dark:bg-slate-900/95">
        <div className="mx-auto flex max-w-7xl items-center justify-between gap-4 px-4 py-2.5">
          <NavLink to="/" className="flex items-center gap-3 text-lg font-semibold">
            <BrandMark />
            CodeMetrics
          </NavLink>
          <div className="flex items-center gap-1">
            <ThemeToggle />
            {userMenu}
          </div>
        </div>
      </header>
      <div className="mx-auto flex max-w-7xl flex-col gap-6 px-4 py-6 md:flex-row">
        <nav aria-label="Main" className="shrink-0 md:w-56">
          <ul className="space-y-1">
            <li>
              <NavLink to="/" end className={navLink}>
                <ChartLine aria-hidden="true" className="size-4" />
                Dashboard
              </NavLink>
            </li>
          </ul>
          <p className="mt-5 mb-1 px-3 text-xs font-semibold tracking-wide text-slate-600 uppercase dark:text-slate-400" id="nav-admin">
            Administration
          </p>
          <ul className="space-y-1" aria-labelledby="nav-admin">
            <li>
              <NavLink to="/admin" end className={navLink}>
                <LayoutDashboard aria-hidden="true" className="size-4" />
                Administration
              </NavLink>
            </li>
            <li>
              <NavLink to="/admin/service-tokens" className={navLink}>
                <KeyRound aria-hidden="true" className="size-4" />
                Service Tokens
              </NavLink>
            </li>
            <li>
              <NavLink to="/admin/service-users" className={navLink}>
                <Bot aria-hidden="true" className="size-4" />
                Service Users
              </NavLink>
            </li>
            <li>
              <NavLink to="/admin/audit-log" className={navLink}>
                <ClipboardList aria-hidden="true" className="size-4" />
                Audit Log
              </NavLink>
            </li>
            <li>
              <NavLink to="/admin/notifications" className={navLink}>
                <BellRing aria-hidden="true" className="size-4" />
                Notifications
              </NavLink>
            </li>
          </ul>
        </nav>
        <main id="main" tabIndex={-1} className="min-w-0 flex-1 focus:outline-none">
          <Outlet />
        </main>
      </div>
    </div>
  )
}
