import { BookOpen } from 'lucide-react'

/** Where the API is documented, and the one call a new token is usually tried with. */
export function ApiUsageHint() {
  const origin = window.location.origin
  return (
    <details className="card group p-4 text-sm">
      <summary className="flex cursor-pointer items-center gap-2 font-medium">
        <BookOpen aria-hidden="true" className="size-4" />
        API usage
      </summary>
      <div className="mt-3 space-y-3">
        <p>
          Applications send the token in the <code className="font-mono">Authorization</code> header. A revoked or
          expired token gets <code className="font-mono">401 Unauthorized</code>.
        </p>
        <pre className="code-block">
          <code>{`curl -H "Authorization: Bearer $CODEMETRICS_TOKEN" \\\n     ${origin}/api/system/config`}</code>
        </pre>
        <p>
          Every endpoint is described in the{' '}
          <a className="link" href="/api/openapi.json">
            API documentation
          </a>
          .
        </p>
      </div>
    </details>
  )
}
