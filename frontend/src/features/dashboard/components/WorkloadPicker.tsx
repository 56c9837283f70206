import { useCombobox } from 'downshift'
import { Check, ChevronDown, X } from 'lucide-react'
import { useId, useState } from 'react'
import { useWorkloadSearch } from '../api/metrics'
import { MAX_QUERY_WORKLOADS, PICKER_OPTIONS, matchingWorkloads, toggleWorkload, type WorkloadList } from '../lib/selection'

interface WorkloadPickerProps {
  /** Every workload (or the most recently active ones, when there are more than loaded). */
  workloads: WorkloadList
  /** The charted workloads, in the order charted. */
  selected: string[]
  /** Whether the user chose them; else they are the most recently active. */
  chosen: boolean
  onChange: (selection: string[]) => void
  /** Back to the most recently active workloads. */
  onReset: () => void
}

/**
 * Which workloads to chart: the charted ones as removable chips, and a combobox that searches
 * every workload by a part of its name (instantly, in memory, when every name is loaded; through
 * the server otherwise), lists at most PICKER_OPTIONS matches, and adds or removes the chosen one.
 * Keyboard: type to search, arrows to move, Enter to add or remove, Escape to close.
 */
export function WorkloadPicker({ workloads, selected, chosen, onChange, onReset }: WorkloadPickerProps) {
  const id = useId()
  const [inputValue, setInputValue] = useState('')
  const query = inputValue.trim()
  const complete = workloads.names.length >= workloads.total
  const search = useWorkloadSearch(query, !complete)
  const source = !complete && query && search.data ? search.data : workloads
  const { options, more } = matchingWorkloads(source.names, query, PICKER_OPTIONS)
  // Matches the server has but did not send (only when not every name is loaded).
  const unlisted = more + Math.max(0, source.total - source.names.length)
  const charted = new Set(selected)
  const full = selected.length >= MAX_QUERY_WORKLOADS

  const { isOpen, highlightedIndex, getLabelProps, getInputProps, getMenuProps, getItemProps, getToggleButtonProps } =
    useCombobox<string>({
      items: options,
      inputId: `${id}-input`,
      labelId: `${id}-label`,
      menuId: `${id}-menu`,
      inputValue,
      selectedItem: null,
      itemToString: (item) => item ?? '',
      isItemDisabled: (item) => full && !charted.has(item),
      stateReducer: (state, { type, changes }) => {
        switch (type) {
          // Choosing keeps the list open on the same search, to add several.
          case useCombobox.stateChangeTypes.InputKeyDownEnter:
          case useCombobox.stateChangeTypes.ItemClick:
            return { ...changes, isOpen: true, highlightedIndex: state.highlightedIndex, inputValue: state.inputValue }
          default:
            return changes
        }
      },
      onStateChange: ({ type, selectedItem, inputValue: typed }) => {
        switch (type) {
          case useCombobox.stateChangeTypes.InputKeyDownEnter:
          case useCombobox.stateChangeTypes.ItemClick:
            if (selectedItem) {
              const next = toggleWorkload(selected, selectedItem)
              if (next) onChange(next)
            }
            break
          case useCombobox.stateChangeTypes.InputChange:
            setInputValue(typed ?? '')
            break
        }
      },
    })

  const hintId = `${id}-hint`
  return (
    <section className="card space-y-3" aria-labelledby={`${id}-heading`}>
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id={`${id}-heading`} className="text-lg font-semibold">
          Workloads
        </h2>
        <p className="muted text-sm">
          {chosen
            ? `Charting ${selected.length} of ${workloads.total} workloads.`
            : `Charting the ${selected.length} most recently active of ${workloads.total} workloads.`}
          {chosen && (
            <>
              {' '}
              <button type="button" className="link" onClick={onReset}>
                Show the most recently active
              </button>
            </>
          )}
        </p>
      </div>

      {selected.length > 0 ? (
        <ul className="flex flex-wrap gap-2" aria-label="Charted workloads">
          {selected.map((w) => (
            <li
              key={w}
              className="inline-flex items-center gap-1 rounded-full border border-slate-300 bg-slate-50 py-0.5 pr-1 pl-3 text-sm dark:border-slate-600 dark:bg-slate-800"
            >
              <span className="break-all">{w}</span>
              <button
                type="button"
                className="rounded-full p-1 text-slate-600 hover:bg-slate-200 dark:text-slate-300 dark:hover:bg-slate-700"
                aria-label={`Remove ${w}`}
                title={`Remove ${w}`}
                onClick={() => onChange(selected.filter((s) => s !== w))}
              >
                <X className="size-3.5" aria-hidden />
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted text-sm">No workload charted: add one below.</p>
      )}

      <div className="relative max-w-xl">
        <label {...getLabelProps()} htmlFor={`${id}-input`} className="mb-1 block text-sm font-medium">
          Add or remove a workload
        </label>
        <div className="flex gap-1">
          <input
            {...getInputProps({ 'aria-describedby': hintId })}
            className="field-input"
            placeholder={`Search ${workloads.total} workloads by name`}
            autoComplete="off"
            spellCheck={false}
          />
          <button {...getToggleButtonProps()} type="button" className="btn-secondary px-2" aria-label="Show the workloads">
            <ChevronDown className="size-4" aria-hidden />
          </button>
        </div>
        <p id={hintId} className={`mt-1 text-xs ${full ? 'font-medium text-amber-800 dark:text-amber-300' : 'muted'}`} aria-live="polite">
          {full
            ? `${MAX_QUERY_WORKLOADS} workloads are charted, the most at once: remove one to add another.`
            : `Up to ${MAX_QUERY_WORKLOADS} at once. Enter or click adds a workload, or removes a charted one.`}
        </p>
        <div
          className={`absolute inset-x-0 z-20 mt-1 rounded-md border border-slate-200 bg-white shadow-lg dark:border-slate-700 dark:bg-slate-900 ${isOpen ? '' : 'hidden'}`}
        >
          <ul {...getMenuProps({ 'aria-label': 'Workloads' })} className="max-h-80 overflow-y-auto py-1">
            {isOpen &&
              options.map((w, index) => {
                const on = charted.has(w)
                const disabled = full && !on
                return (
                  <li
                    key={w}
                    {...getItemProps({ item: w, index })}
                    className={`flex cursor-pointer items-center gap-2 px-3 py-1.5 text-sm break-all ${
                      highlightedIndex === index ? 'bg-blue-50 dark:bg-slate-800' : ''
                    } ${disabled ? 'cursor-not-allowed opacity-50' : ''}`}
                  >
                    <Check className={`size-4 shrink-0 ${on ? 'text-blue-700 dark:text-blue-400' : 'invisible'}`} aria-hidden />
                    <span>{w}</span>
                    {on && (
                      <>
                        {' '}
                        <span className="sr-only">(charted)</span>
                      </>
                    )}
                  </li>
                )
              })}
          </ul>
          {isOpen && (
            <p className="muted border-t border-slate-200 px-3 py-1.5 text-xs dark:border-slate-700" role="status">
              {options.length === 0
                ? search.isFetching
                  ? 'Searching…'
                  : `No workload’s name contains “${query}”.`
                : unlisted > 0
                  ? `${unlisted} more — type to narrow.`
                  : `${options.length} ${options.length === 1 ? 'workload' : 'workloads'}.`}
            </p>
          )}
        </div>
      </div>
    </section>
  )
}
