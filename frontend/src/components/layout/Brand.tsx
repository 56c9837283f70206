import { ChartNoAxesCombined } from 'lucide-react'

export function BrandMark() {
  return (
    <span className="flex size-8 items-center justify-center rounded-md bg-blue-700 text-white dark:bg-blue-600">
      <ChartNoAxesCombined aria-hidden="true" className="size-5" />
    </span>
  )
}
