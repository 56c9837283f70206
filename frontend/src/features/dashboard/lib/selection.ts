// Which workloads the dashboard charts: the dozen most recently active until the user chooses,
// then the user's choice, kept in the URL (?workload=a&workload=b) like the date range.

/** The most workloads one POST /api/query takes, so the most the dashboard charts at once. */
export const MAX_QUERY_WORKLOADS = 50

/** How many of the most recently active workloads the dashboard charts until the user chooses. */
export const DEFAULT_CHARTED = 12

/** The most options the workload picker lists at once: typing narrows a longer list. */
export const PICKER_OPTIONS = 50

/** The URL parameter of the choice: repeated, one workload each; a lone empty one means none. */
export const SELECTION_PARAM = 'workload'

/** Workload names, most recently active first, and how many exist (more than loaded, at times). */
export interface WorkloadList {
  names: string[]
  total: number
}

/** The user's choice in the URL, in order and without repeats; undefined when they made none. */
export function parseSelection(params: URLSearchParams): string[] | undefined {
  if (!params.has(SELECTION_PARAM)) return undefined
  return [...new Set(params.getAll(SELECTION_PARAM).filter(Boolean))]
}

/** `params` with the choice replaced; undefined goes back to the default (the most recent). */
export function writeSelection(params: URLSearchParams, selection: string[] | undefined): URLSearchParams {
  const next = new URLSearchParams(params)
  next.delete(SELECTION_PARAM)
  if (selection) {
    if (selection.length === 0) next.append(SELECTION_PARAM, '')
    for (const name of selection) next.append(SELECTION_PARAM, name)
  }
  return next
}

/** What the dashboard charts, and what of the URL's choice it cannot. */
export interface Charted {
  workloads: string[]
  /** Whether the user chose them (else they are the most recently active). */
  chosen: boolean
  /** Names in the URL that no workload has (a stale link): left out, so the others still chart. */
  unknown: string[]
  /** Names in the URL beyond the first MAX_QUERY_WORKLOADS, left out. */
  overLimit: number
}

/** The workloads to chart: the choice when there is one, else the dozen most recently active. */
export function chartedWorkloads(selection: string[] | undefined, list: WorkloadList): Charted {
  if (selection === undefined) {
    return { workloads: list.names.slice(0, DEFAULT_CHARTED), chosen: false, unknown: [], overLimit: 0 }
  }
  // Only a complete list can tell a name that does not exist; otherwise the server will.
  const known = list.names.length >= list.total ? new Set(list.names) : undefined
  const unknown = known ? selection.filter((w) => !known.has(w)) : []
  const kept = known ? selection.filter((w) => known.has(w)) : selection
  return {
    workloads: kept.slice(0, MAX_QUERY_WORKLOADS),
    chosen: true,
    unknown,
    overLimit: Math.max(0, kept.length - MAX_QUERY_WORKLOADS),
  }
}

/**
 * Adds `name` to the charted workloads (first, so its chart shows at the top) or takes it off.
 * Undefined when adding it would chart more than one query takes.
 */
export function toggleWorkload(selection: string[], name: string): string[] | undefined {
  if (selection.includes(name)) return selection.filter((w) => w !== name)
  if (selection.length >= MAX_QUERY_WORKLOADS) return undefined
  return [name, ...selection]
}

/** The picker's options: the names containing `query` in any case, in order, at most `cap`. */
export function matchingWorkloads(names: string[], query: string, cap: number): { options: string[]; more: number } {
  const needle = query.trim().toLowerCase()
  const matches = needle ? names.filter((n) => n.toLowerCase().includes(needle)) : names
  return { options: matches.slice(0, cap), more: Math.max(0, matches.length - cap) }
}
