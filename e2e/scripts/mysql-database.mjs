// Creates (fresh) or drops the MySQL/MariaDB database named in E2E_MYSQL_DSN, with the `mysql`
// command-line client. Usage: node scripts/mysql-database.mjs create|drop
import { execFileSync } from 'node:child_process'

const dsn = process.env.E2E_MYSQL_DSN || 'root@tcp(127.0.0.1:3306)/codemetrics_e2e?parseTime=true'

/** Splits a go-sql-driver DSN: user[:password]@tcp(host[:port])/database[?params]. */
export function parseDSN(value) {
  const match = /^(?:([^:@]*)(?::([^@]*))?@)?(?:tcp\(([^)]*)\))?\/([^?]+)/.exec(value)
  if (!match) throw new Error(`E2E_MYSQL_DSN is not a DSN like user@tcp(host:3306)/database: ${value}`)
  const [, user = 'root', password = '', address = '127.0.0.1:3306', name] = match
  const [host, port = '3306'] = address.split(':')
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`unexpected database name in E2E_MYSQL_DSN: ${name}`)
  return { user, password, host: host || '127.0.0.1', port, name }
}

function mysql(sql) {
  const { user, password, host, port } = parseDSN(dsn)
  execFileSync('mysql', [`-h${host}`, `-P${port}`, `-u${user}`, '-e', sql], {
    stdio: 'inherit',
    env: { ...process.env, MYSQL_PWD: password },
  })
}

const { name } = parseDSN(dsn)
const command = process.argv[2]
if (command === 'create') {
  mysql(`DROP DATABASE IF EXISTS \`${name}\`; CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
} else if (command === 'drop') {
  mysql(`DROP DATABASE IF EXISTS \`${name}\``)
} else {
  console.error('usage: node scripts/mysql-database.mjs create|drop')
  process.exit(2)
}
