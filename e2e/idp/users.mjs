// In-memory test users of the development OpenID Provider. The passwords are
// public knowledge; they only ever exist in this development provider.

import { createHash, timingSafeEqual } from 'node:crypto'

/** @type {ReadonlyArray<{id: string, email: string, password: string, name: string, groups: readonly string[]}>} */
export const TEST_USERS = Object.freeze([
  Object.freeze({
    id: 'admin',
    email: 'admin@example.com',
    password: 'admin',
    name: 'Ada Admin',
    groups: Object.freeze(['codemetrics-admins']),
  }),
  Object.freeze({
    id: 'viewer',
    email: 'viewer@example.com',
    password: 'viewer',
    name: 'Vic Viewer',
    groups: Object.freeze([]),
  }),
])

const digest = (value) => createHash('sha256').update(value, 'utf8').digest()

export function findUserById(id) {
  return TEST_USERS.find((user) => user.id === id)
}

/** Returns the user with this email and password, or undefined. */
export function findUserByCredentials(email, password) {
  const user = TEST_USERS.find((u) => u.email === email.trim().toLowerCase())
  // Compare a digest even for unknown users so both cases take the same time.
  const ok = timingSafeEqual(digest(password), digest(user ? user.password : '\u0000unknown'))
  return ok && user ? user : undefined
}
