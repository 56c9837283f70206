import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { database, e2eDir } from './fixtures/servers'

/** Drops the MySQL database that the run created (the SQLite file goes with its temp dir). */
export default function globalTeardown() {
  if (database !== 'mysql') return
  execFileSync(process.execPath, [path.join(e2eDir, 'scripts/mysql-database.mjs'), 'drop'], { stdio: 'inherit' })
}
