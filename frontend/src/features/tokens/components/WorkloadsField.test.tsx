import { useState } from 'react'
import { fireEvent, render, screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { WorkloadsField, readWorkloads, workloadsValue, type WorkloadsValue } from './WorkloadsField'

describe('readWorkloads', () => {
  it('reads the names, or * when every workload is chosen', () => {
    expect(readWorkloads({ mode: 'list', text: 'a, b a' })).toEqual({ workloads: ['a', 'b'] })
    expect(readWorkloads({ mode: 'every', text: 'ignored' })).toEqual({ workloads: ['*'] })
  })

  it('refuses an empty list and a typed *', () => {
    expect(readWorkloads({ mode: 'list', text: ' ' })).toEqual({ error: expect.stringMatching(/^Name at least one workload/) as string })
    expect(readWorkloads({ mode: 'list', text: 'a, *' })).toEqual({ error: expect.stringMatching(/choose “Every workload/) as string })
  })

  it('turns stored workloads into the field', () => {
    expect(workloadsValue(['*'])).toEqual({ mode: 'every', text: '' })
    expect(workloadsValue(['a', 'b'])).toEqual({ mode: 'list', text: 'a, b' })
  })
})

function Harness({ writes, initial }: { writes: boolean; initial: WorkloadsValue }) {
  const [value, setValue] = useState(initial)
  return <WorkloadsField value={value} onChange={setValue} writes={writes} />
}

describe('WorkloadsField', () => {
  it('warns about every workload only with pipeline:write', () => {
    const { unmount } = render(<Harness writes={false} initial={{ mode: 'list', text: '' }} />)
    fireEvent.click(screen.getByRole('radio', { name: /Every workload/ }))
    expect(screen.queryByLabelText('Workload names')).not.toBeInTheDocument()
    expect(screen.queryByText(/Every workload, with pipeline:write/)).not.toBeInTheDocument()
    unmount()

    render(<Harness writes initial={{ mode: 'list', text: 'team-a' }} />)
    expect(screen.getByRole('group', { name: 'Workloads' })).toBeVisible()
    expect(screen.getByLabelText('Workload names')).toHaveValue('team-a')
    fireEvent.click(screen.getByRole('radio', { name: /Every workload/ }))
    expect(screen.getByText('Every workload, with pipeline:write')).toBeVisible()
    // Back to the list: the names typed before are still there.
    fireEvent.click(screen.getByRole('radio', { name: 'Only these workloads' }))
    expect(screen.getByLabelText('Workload names')).toHaveValue('team-a')
  })
})
