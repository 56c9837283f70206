import { describe, expect, it } from 'vitest'
import { validateSubject } from './tokens'

describe('validateSubject', () => {
  it('accepts a trimmed subject of 1 to 100 characters', () => {
    expect(validateSubject('ci-pipeline')).toBeUndefined()
    expect(validateSubject('  padded  ')).toBeUndefined()
    expect(validateSubject('x'.repeat(100))).toBeUndefined()
    expect(validateSubject('é'.repeat(100))).toBeUndefined()
    expect(validateSubject('<img src=x onerror=alert(1)>')).toBeUndefined()
  })

  it('rejects empty, too long and control characters', () => {
    expect(validateSubject('   ')).toMatch(/^Enter a subject/)
    expect(validateSubject('x'.repeat(101))).toMatch(/too long: 101 characters, at most 100/)
    expect(validateSubject('a\tb')).toMatch(/control characters/)
    expect(validateSubject('a\u0085b')).toMatch(/control characters/)
  })
})
