import type { RouteObject } from 'react-router'
import { NotFound } from '../components/layout/NotFound'
import { PublicFrame } from '../components/layout/PublicFrame'
import { AuditLogPage } from '../features/audit/components/AuditLogPage'
import { ACCESS_DENIED_PATH, AccessDenied } from '../features/auth/components/AccessDenied'
import { AdminHub } from '../features/admin/components/AdminHub'
import { DashboardPage } from '../features/dashboard/components/DashboardPage'
import { NotificationsPage } from '../features/notifications/components/NotificationsPage'
import { ActiveTokenCount } from '../features/tokens/components/ActiveTokenCount'
import { ExpiringTokens } from '../features/tokens/components/ExpiringTokens'
import { ServiceUserCount } from '../features/tokens/components/ServiceUserCount'
import { ServiceUserPage } from '../features/tokens/components/ServiceUserPage'
import { ServiceUsersPage } from '../features/tokens/components/ServiceUsersPage'
import { TokenPage } from '../features/tokens/components/TokenPage'
import { TokensPage } from '../features/tokens/components/TokensPage'
import { AuthGate } from './AuthGate'

export const routes: RouteObject[] = [
  {
    path: ACCESS_DENIED_PATH,
    element: (
      <PublicFrame>
        <AccessDenied />
      </PublicFrame>
    ),
  },
  {
    element: <AuthGate />,
    children: [
      { index: true, element: <DashboardPage /> },
      {
        path: 'admin',
        element: (
          <AdminHub
            serviceTokenCount={<ActiveTokenCount />}
            serviceUserCount={<ServiceUserCount />}
            expiringTokens={<ExpiringTokens />}
          />
        ),
      },
      { path: 'admin/service-tokens', element: <TokensPage /> },
      { path: 'admin/service-tokens/:tokenId', element: <TokenPage /> },
      { path: 'admin/service-users', element: <ServiceUsersPage /> },
      { path: 'admin/service-users/:serviceUserId', element: <ServiceUserPage /> },
      { path: 'admin/audit-log', element: <AuditLogPage /> },
      { path: 'admin/notifications', element: <NotificationsPage /> },
      { path: '*', element: <NotFound /> },
    ],
  },
]
