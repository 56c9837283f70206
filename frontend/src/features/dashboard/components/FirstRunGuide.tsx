import { Activity } from 'lucide-react'
import { Link } from 'react-router'
import { CopyButton } from '../../../components/ui/CopyButton'

/** What a CI job sends to record one run; the dashboard's empty state shows it. */
export function recordRunExample(origin: string): string {
  const run = {
    id: '1234',
    workload: 'my-team',
    pipeline: 'build',
    kind: 'build',
    status: 'success',
    branch: 'main',
    commit: '3f2c1a9',
    startedAt: '2024-01-15T10:30:00Z',
    finishedAt: '2024-01-15T10:36:00Z',
    coverage: 84.2,
    tests: { passed: 412, failed: 0, skipped: 3 },
  }
  return [
    `curl -X POST ${origin}/api/pipeline/runs \\`,
    `     -H "Authorization: Bearer $CODEMETRICS_TOKEN" \\`,
    `     -H "Content-Type: application/json" \\`,
    `     -d '${JSON.stringify(run, null, 2)}'`,
  ].join('\n')
}

/** The empty dashboard: how to get the first run in. */
export function FirstRunGuide() {
  const example = recordRunExample(window.location.origin)
  return (
    <section className="card space-y-4" aria-labelledby="first-run-heading">
      <div className="flex items-center gap-3">
        <Activity aria-hidden="true" className="muted size-6" />
        <h2 id="first-run-heading" className="text-lg font-semibold">
          No pipeline runs yet
        </h2>
      </div>
      <p className="text-sm">
        Charts of code coverage and build success rate appear here once a CI pipeline records its first run.
      </p>
      <ol className="list-decimal space-y-3 pl-5 text-sm">
        <li>
          On the{' '}
          <Link className="link" to="/admin/service-users">
            Service Users
          </Link>{' '}
          page, create a service user for your pipeline with the <code className="font-mono">pipeline:write</code> scope
          and the workloads it records into, such as <code className="font-mono">my-team</code>; then issue its token
          with Create Token on its page. Or do both at once on the{' '}
          <Link className="link" to="/admin/service-tokens">
            Service Tokens
          </Link>{' '}
          page: Create Token asks for the workloads of a new service user.
        </li>
        <li>
          Keep it in your CI system’s secret store, for example as <code className="font-mono">CODEMETRICS_TOKEN</code>.
        </li>
        <li>
          At the end of each pipeline, record the run. The <code className="font-mono">id</code> is your CI system’s run
          id: sending the same run again does not count it twice, and the workload is created by its first run (only a
          service user that names it may record it).
          <pre className="code-block mt-2" tabIndex={0}>
            <code>{example}</code>
          </pre>
          <CopyButton text={() => example} label="Copy example" className="btn-secondary mt-2" />
        </li>
      </ol>
      <p className="muted text-sm">
        Every field is described in the{' '}
        <a className="link" href="/api/openapi.json">
          API documentation
        </a>
        .
      </p>
    </section>
  )
}
