import { ACCESS_DENIED_PATH, AccessDenied } from '../features/auth/AccessDenied'
import { AuthPanel } from '../features/auth/AuthPanel'

export function App() {
  return (
    <div className="app">
      <header className="app-header">
        <h1>CodeMetrics</h1>
        <p className="muted">Self-hosted code metrics — service tokens for your CI/CD pipelines.</p>
      </header>
      <main>{window.location.pathname === ACCESS_DENIED_PATH ? <AccessDenied /> : <AuthPanel />}</main>
    </div>
  )
}
