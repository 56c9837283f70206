import type { ReactNode } from 'react'
import { ArrowRight, BellRing, Bot, ClipboardList, KeyRound, Settings, Users } from 'lucide-react'
import { Link } from 'react-router'
import { PageHeader } from '../../../components/layout/PageHeader'
import { Detail, Details } from '../../../components/ui/Details'
import { Loaded } from '../../../components/ui/Loaded'
import { RelativeTime } from '../../../components/ui/RelativeTime'
import { formatDuration } from '../../../lib/time'
import { useSystemConfig } from '../../../lib/systemConfig'
import { useAdminAccess } from '../api/admin'
import { LiveSessions } from './LiveSessions'

function Card({ title, icon, children, wide }: { title: string; icon: ReactNode; children: ReactNode; wide?: boolean }) {
  const id = `card-${title.toLowerCase().replace(/\W+/g, '-')}`
  return (
    <section aria-labelledby={id} className={`card flex flex-col gap-3 ${wide ? 'lg:col-span-2' : ''}`}>
      <h2 id={id} className="flex items-center gap-2 text-lg font-semibold">
        {icon}
        {title}
      </h2>
      {children}
    </section>
  )
}

/**
 * The Administration page: the portal's hub. The service token and service user counts, and
 * the tokens about to expire, come from the tokens feature, so the app passes them in.
 */
export function AdminHub({
  serviceTokenCount,
  serviceUserCount,
  expiringTokens,
}: {
  serviceTokenCount: ReactNode
  serviceUserCount: ReactNode
  /** The tokens that expire within 30 days. */
  expiringTokens?: ReactNode
}) {
  return (
    <>
      <PageHeader
        title="Administration"
        description={
          <p>
            The central hub for managing this CodeMetrics instance: service users and their tokens for API access, the
            audit log, the system settings in force and who may administer it.
          </p>
        }
      />
      <div className="grid gap-5 lg:grid-cols-2">
        <ServiceTokensCard count={serviceTokenCount} expiring={expiringTokens} />
        <ServiceUsersCard count={serviceUserCount} />
        <AuditLogCard />
        <NotificationsCard />
        <SystemSettingsCard />
        <UserAccessCard />
      </div>
    </>
  )
}

const icon = 'size-5 text-blue-700 dark:text-blue-400'

function ServiceTokensCard({ count, expiring }: { count: ReactNode; expiring: ReactNode }) {
  return (
    <Card title="Service Tokens" icon={<KeyRound aria-hidden="true" className={icon} />}>
      <p className="muted text-sm">
        Secure, long-lived access to the CodeMetrics API for automated systems, background processes and third-party
        integrations: automated data analysis, CI/CD pipelines, external monitoring.
      </p>
      {count}
      {expiring}
      <CardLink to="/admin/service-tokens" primary>Manage Service Tokens</CardLink>
    </Card>
  )
}

function ServiceUsersCard({ count }: { count: ReactNode }) {
  return (
    <Card title="Service Users" icon={<Bot aria-hidden="true" className={icon} />}>
      <p className="muted text-sm">
        The automation identities that tokens belong to: each has a role (scopes) and the workloads it may write and
        read, which apply to all its tokens at once. Disable one to stop all its tokens until it is enabled again.
      </p>
      {count}
      <CardLink to="/admin/service-users" primary>Manage Service Users</CardLink>
    </Card>
  )
}

function AuditLogCard() {
  return (
    <Card title="Audit Log" icon={<ClipboardList aria-hidden="true" className={icon} />}>
      <p className="muted text-sm">
        All token management actions are logged: who created or revoked which token and when, along with every sign-in,
        denied sign-in and sign-out.
      </p>
      <CardLink to="/admin/audit-log">View Audit Log</CardLink>
    </Card>
  )
}

function NotificationsCard() {
  return (
    <Card title="Notifications" icon={<BellRing aria-hidden="true" className={icon} />}>
      <p className="muted text-sm">
        Warnings 30, 7 and 1 days before a service token expires, and news of expired and revoked tokens, sent to
        webhooks and email: where they go, a test, and what was delivered.
      </p>
      <CardLink to="/admin/notifications">Manage Notifications</CardLink>
    </Card>
  )
}

/** The card's one way onward, at its foot: primary for the cards' main pages. */
function CardLink({ to, primary = false, children }: { to: string; primary?: boolean; children: ReactNode }) {
  return (
    <div className="mt-auto">
      <Link to={to} className={primary ? 'btn-primary' : 'btn-secondary'}>
        {children}
        <ArrowRight aria-hidden="true" className="size-4" />
      </Link>
    </div>
  )
}

function Setting({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Detail label={label} className="font-medium break-all">
      {children}
    </Detail>
  )
}

function SystemSettingsCard() {
  const config = useSystemConfig()
  return (
    <Card title="System Settings" icon={<Settings aria-hidden="true" className={icon} />}>
      <p className="muted text-sm">The configuration in force, read from environment variables at start-up. Secrets are never shown.</p>
      <Loaded query={config} failed="Could not load the settings">
        {(settings) => (
          <Details>
            <Setting label="Service token lifetime">
              {formatDuration(settings.serviceTokenTtlSeconds)}{' '}
              <span className="muted font-normal">(SERVICE_TOKEN_TTL)</span>
            </Setting>
            <Setting label="Session lifetime">{settings.sessionTtl}</Setting>
            <Setting label="Identity provider">{settings.identityProvider || '—'}</Setting>
            <Setting label="Database driver">{settings.databaseDriver}</Setting>
            <Setting label="Token issuer">{settings.tokenIssuer}</Setting>
            <Setting label="Public URL">{settings.publicUrl}</Setting>
            <Setting label="Version">{settings.version}</Setting>
          </Details>
        )}
      </Loaded>
    </Card>
  )
}

function List({ items }: { items: string[] | null }) {
  if (!items || items.length === 0) return <span className="muted font-normal">none</span>
  return <>{items.join(', ')}</>
}

function UserAccessCard() {
  const access = useAdminAccess()
  return (
    <Card title="User Access" icon={<Users aria-hidden="true" className={icon} />} wide>
      <p className="muted text-sm">
        Administrators come from the identity provider, not from CodeMetrics: members of a group in{' '}
        <code className="font-mono">ADMIN_GROUPS</code> and people whose verified email is in{' '}
        <code className="font-mono">ADMIN_EMAILS</code>. To grant or withdraw access, change the group membership in
        the identity provider. Only administrators can access the Administration Portal. An email the identity
        provider has not verified is shown marked unverified and never counts for ADMIN_EMAILS.
      </p>
      <Loaded query={access} failed="Could not load who has access">
        {(data) => (
          <>
            <Details>
              <Setting label="Identity provider">{data.identityProvider || '—'}</Setting>
              <Setting label="Groups claim">{data.groupsClaim}</Setting>
              <Setting label="ADMIN_GROUPS">
                <List items={data.adminGroups} />
              </Setting>
              <Setting label="ADMIN_EMAILS">
                <List items={data.adminEmails} />
              </Setting>
            </Details>
            <div>
              <h3 className="mb-2 text-sm font-semibold">Recent administrator sign-ins</h3>
              {data.recentAdmins && data.recentAdmins.length > 0 ? (
                <ul className="divide-y divide-slate-200 text-sm dark:divide-slate-800">
                  {data.recentAdmins.map((admin) => (
                    <li key={admin.email} className="flex flex-wrap items-baseline justify-between gap-x-4 py-1.5">
                      <span>
                        <span className="font-medium">{admin.name || admin.email}</span>{' '}
                        <span className="muted">({admin.email})</span>
                        {admin.reason && <span className="muted block text-xs">{admin.reason}</span>}
                      </span>
                      <span className="muted text-xs">
                        <RelativeTime value={admin.lastSignIn} />
                      </span>
                    </li>
                  ))}
                </ul>
              ) : (
                <p className="muted text-sm">No administrator has signed in recently.</p>
              )}
            </div>
            <LiveSessions />
          </>
        )}
      </Loaded>
    </Card>
  )
}
