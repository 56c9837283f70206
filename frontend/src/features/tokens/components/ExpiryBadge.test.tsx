import { render, screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { ExpiryBadge } from './ExpiryBadge'

const now = new Date('2026-11-23T10:00:00Z')
const DAY = 86_400_000
const inDays = (days: number) => new Date(now.getTime() + days * DAY).toISOString()

describe('ExpiryBadge', () => {
  it('says "Expiring soon" within 30 days', () => {
    render(<ExpiryBadge expires={inDays(10)} now={now} />)
    expect(screen.getByText('Expiring soon')).toBeVisible()
  })

  it('shows nothing for a token with more than 30 days left', () => {
    const { container } = render(<ExpiryBadge expires={inDays(31)} now={now} />)
    expect(container).toBeEmptyDOMElement()
  })

  it('says "Expired" once the time has passed', () => {
    render(<ExpiryBadge expires={inDays(-1)} now={now} />)
    expect(screen.getByText('Expired')).toBeVisible()
  })
})
