import { ArrowRight } from 'lucide-react'
import { Link } from 'react-router'
import { PageHeader } from '../../../components/layout/PageHeader'
import { useMe } from '../../auth/api/session'

/** The landing page after sign-in. */
export function HomePage() {
  const me = useMe().data
  return (
    <>
      <PageHeader
        title={me ? `Welcome, ${me.name || me.email}` : 'Welcome'}
        description={<p>Self-hosted code metrics, with service tokens for your CI/CD pipelines and integrations.</p>}
      />
      <section className="card max-w-2xl space-y-3">
        <h2 className="text-lg font-semibold">Administration</h2>
        <p className="muted text-sm">
          Manage service tokens for API access, review the audit log, and see the system settings and who has
          administrator access.
        </p>
        <Link to="/admin" className="btn-primary">
          Go to Administration
          <ArrowRight aria-hidden="true" className="size-4" />
        </Link>
      </section>
    </>
  )
}
