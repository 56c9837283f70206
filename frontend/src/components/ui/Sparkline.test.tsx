import { render, screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { Sparkline, sparkBars } from './Sparkline'

describe('sparkBars', () => {
  it('draws a bar for each value above zero, as tall as its share of the largest', () => {
    expect(sparkBars([0, 5, 10, 0], 40, 20)).toEqual([
      { index: 1, x: 10, y: 10, width: 9, height: 10 },
      { index: 2, x: 20, y: 0, width: 9, height: 20 },
    ])
  })

  it('keeps a single request visible next to many', () => {
    const [one] = sparkBars([1, 10_000], 20, 20)
    expect(one).toMatchObject({ index: 0, height: 1, y: 19 })
  })

  it('draws nothing for no use', () => {
    expect(sparkBars([0, 0, 0], 30, 20)).toEqual([])
    expect(sparkBars([], 30, 20)).toEqual([])
  })
})

describe('Sparkline', () => {
  it('is an image named by its label, with one bar per day of use', () => {
    const values = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? i : 0))
    render(<Sparkline values={values} label="135 requests in the last 30 days" width={90} height={20} />)
    const img = screen.getByRole('img', { name: '135 requests in the last 30 days' })
    const path = img.querySelector('path')!
    expect(path).toHaveAttribute('data-bars', '9') // days 3, 6, …, 27 (day 0 has 0 requests)
    expect(path.getAttribute('d')!.match(/M/g)).toHaveLength(9)
    // The last (largest) bar is the full height, on the 28th of 30 slots.
    expect(path.getAttribute('d')).toContain('M81 20V0h2V20Z')
  })

  it('shows only its baseline when there was no use', () => {
    render(<Sparkline values={[0, 0]} label="0 requests in the last 30 days" />)
    const img = screen.getByRole('img', { name: '0 requests in the last 30 days' })
    expect(img.querySelector('path')).toBeNull()
    expect(img.querySelector('line')).not.toBeNull()
  })
})
