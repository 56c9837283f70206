import { memo } from 'react'

interface SparklineProps {
  /** One number per period, oldest first (a token's requests per day). */
  values: readonly number[]
  /** What the picture says, read by screen readers: "1,234 requests in the last 30 days". */
  label: string
  width?: number
  height?: number
  className?: string
}

/** A bar of the sparkline: where it starts and how tall it is, in the SVG's units. */
export interface SparkBar {
  index: number
  x: number
  y: number
  width: number
  height: number
}

/**
 * The bars of `values` in a `width` × `height` box: one slot per value, a bar for each value
 * above zero, as tall as its share of the largest (at least 1 unit, so that one request shows).
 */
export function sparkBars(values: readonly number[], width: number, height: number): SparkBar[] {
  const max = Math.max(0, ...values)
  if (values.length === 0 || max === 0) return []
  const slot = width / values.length
  // A gap of a unit between bars when there is room for it; narrower slots keep a thinner one.
  const bar = slot >= 3 ? slot - 1 : Math.max(1, slot * 0.7)
  const bars: SparkBar[] = []
  values.forEach((value, index) => {
    if (!(value > 0)) return
    const h = Math.max(1, (value / max) * height)
    bars.push({ index, x: index * slot, y: height - h, width: bar, height: h })
  })
  return bars
}

const round = (n: number) => Math.round(n * 100) / 100

/**
 * A tiny bar chart of a series, drawn as one SVG path (cheap enough for a thousand table rows)
 * over a baseline; the label says in words what it shows. `width` and `height` in pixels.
 */
export const Sparkline = memo(function Sparkline({ values, label, width = 90, height = 20, className = '' }: SparklineProps) {
  const bars = sparkBars(values, width, height)
  const d = bars.map((b) => `M${round(b.x)} ${height}V${round(b.y)}h${round(b.width)}V${height}Z`).join('')
  return (
    <svg
      role="img"
      aria-label={label}
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      className={`inline-block overflow-visible align-middle ${className}`}
    >
      <line x1={0} y1={height - 0.5} x2={width} y2={height - 0.5} className="stroke-slate-300 dark:stroke-slate-600" strokeWidth={1} />
      {d && <path d={d} data-bars={bars.length} className="fill-blue-600 dark:fill-blue-400" />}
    </svg>
  )
})
