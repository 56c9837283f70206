interface CountLineProps {
  /** A count being read (TanStack Query's result). */
  count: { isSuccess: boolean; isError: boolean; data?: number }
  /** What is counted: ['active token', 'active tokens']. */
  noun: readonly [one: string, many: string]
}

/** "12 active tokens" as one line of text, with what to say while it is counted or when it could not be. */
export function CountLine({ count, noun: [one, many] }: CountLineProps) {
  const n = count.data ?? 0
  return (
    <p className="text-sm">
      {count.isSuccess
        ? `${n.toLocaleString('en')} ${n === 1 ? one : many}`
        : count.isError
          ? `${many.charAt(0).toUpperCase()}${many.slice(1)}: unknown`
          : `Counting ${many}…`}
    </p>
  )
}
