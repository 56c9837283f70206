import { Badge } from '../../../components/ui/Badge'
import { writesEveryWorkload, type ServiceUser } from '../api/serviceUsers'

/** What an administrator should notice about a service user: disabled, to review, writing everywhere. */
export function ServiceUserBadges({ user }: { user: Pick<ServiceUser, 'disabled' | 'needsReview' | 'scopes' | 'workloads'> }) {
  const badges = []
  if (user.disabled) badges.push(<Badge key="disabled" tone="danger">Disabled</Badge>)
  if (user.needsReview)
    badges.push(
      <span key="review" title="Made from existing tokens by the upgrade, with every workload: narrow its workloads and save to review it">
        <Badge tone="info">Review</Badge>
      </span>,
    )
  if (writesEveryWorkload(user))
    badges.push(
      <span key="every" title="pipeline:write on every workload: its tokens can record runs into any workload">
        <Badge tone="warning">Writes every workload</Badge>
      </span>,
    )
  if (badges.length === 0) return null
  return <span className="flex flex-wrap gap-1">{badges}</span>
}
