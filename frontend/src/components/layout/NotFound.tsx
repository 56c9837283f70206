import { Link } from 'react-router'
import { PageHeader } from './PageHeader'

export function NotFound() {
  return (
    <>
      <PageHeader title="Page not found" description={<p>There is no page at this address.</p>} />
      <Link to="/admin" className="link">
        Go to Administration
      </Link>
    </>
  )
}
