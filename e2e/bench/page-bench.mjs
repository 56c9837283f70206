// What the page benchmarks (dashboard-page.mjs, tokens-page.mjs) share: their command line,
// the signed-in administrator's session cookie, the browser and the loop of loads (one
// untimed warm-up first), the fresh instrumented page of each load, and rounding the per-load
// figures into columns.
import { chromium } from '@playwright/test'
import { chromiumArgs, chromiumPath } from '../fixtures/chromium.mjs'

// parseArgs reads --url, --tag key=value (repeatable), the whole-number options named in
// numbers (at least 1; --warmup at least 0) and the text options named in strings, over the
// defaults given.
export function parseArgs(argv, defaults, { numbers, strings = [] }) {
  const opts = { url: '', tags: {}, ...defaults }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`)
      return argv[++i]
    }
    const name = arg.slice(2)
    if (arg === '--url') {
      opts.url = value().replace(/\/+$/, '')
    } else if (arg === '--tag') {
      const [k, ...v] = value().split('=')
      if (!k || v.length === 0) throw new Error('--tag wants key=value')
      opts.tags[k] = v.join('=')
    } else if (arg.startsWith('--') && numbers.includes(name)) {
      opts[name] = Number(value())
    } else if (arg.startsWith('--') && strings.includes(name)) {
      opts[name] = value()
    } else {
      throw new Error(`unknown argument ${arg}`)
    }
  }
  if (!opts.url) throw new Error('--url is required')
  for (const k of numbers) {
    if (!Number.isInteger(opts[k]) || opts[k] < (k === 'warmup' ? 0 : 1)) throw new Error(`--${k} must be a whole number`)
  }
  return opts
}

// sessionCookies is the session cookie from CODEMETRICS_SESSION, under the name the server
// gives it (with an https PUBLIC_URL the session cookie is __Host-).
export function sessionCookies(url) {
  const session = process.env.CODEMETRICS_SESSION
  if (!session) throw new Error('CODEMETRICS_SESSION (the session cookie value) is not set')
  const secure = url.startsWith('https:')
  return [
    {
      name: secure ? '__Host-codemetrics_session' : 'codemetrics_session',
      value: session,
      url,
      httpOnly: true,
      secure,
      sameSite: 'Lax',
    },
  ]
}

// runLoads launches Chromium and calls load(browser, opts, cookies) --warmup + --loads times,
// writing describe(figures) of each load to stderr; it returns the browser's version and the
// timed loads' figures.
export async function runLoads(opts, load, describe) {
  const cookies = sessionCookies(opts.url)
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs })
  const version = browser.version()
  const runs = []
  try {
    for (let i = 0; i < opts.warmup + opts.loads; i++) {
      const r = await load(browser, opts, cookies)
      if (i >= opts.warmup) runs.push(r)
      const name = i < opts.warmup ? 'warm-up' : `load ${i - opts.warmup + 1}`
      process.stderr.write(`  ${name}: ${describe(r)}\n`)
    }
  } finally {
    await browser.close()
  }
  return { version, runs }
}

// withPage opens a fresh browser context (1280×720, en-GB) holding the session cookies, with
// instrument(arg) installed before the page's scripts, and returns what measure(page, { fail,
// mark }) returns once the page has thrown nothing; the context is closed either way.
//   - fail(what, err) throws what went wrong with where the page was: its address and heading,
//     and what where(page) adds;
//   - mark(key) waits up to timeout ms for the moment window[bench][key] to be taken.
export async function withPage(browser, cookies, { instrument, arg, bench, timeout, where = async () => '' }, measure) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, locale: 'en-GB' })
  try {
    await context.addCookies(cookies)
    await context.addInitScript(instrument, arg)
    const page = await context.newPage()
    const errors = []
    page.on('pageerror', (e) => errors.push(String(e)))
    const fail = async (what, err) => {
      const heading = await page.locator('h1').first().textContent({ timeout: 1000 }).catch(() => '')
      const more = await where(page)
      const pageErrors = errors.length ? `; page errors: ${errors.join('; ')}` : ''
      const at = `page ${page.url()}, heading "${heading?.trim() ?? ''}"${more}`
      throw new Error(`${what} (${at}): ${err?.message ?? err}${pageErrors}`)
    }
    const mark = (key) => page.waitForFunction(([b, k]) => window[b][k] !== null, [bench, key], { timeout })
    const m = await measure(page, { fail, mark })
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`)
    return m
  } finally {
    await context.close()
  }
}

// ms formats a moment for the progress lines.
export const ms = (v) => `${v.toFixed(0)} ms`

// column is figure k of every load, rounded to 0.1 ms (null where a load has none).
export const column = (runs, k) => runs.map((r) => (r[k] == null ? null : Math.round(r[k] * 10) / 10))

// runMain runs the script's main, reporting a failure on stderr under the script's name.
export function runMain(script, main) {
  main().catch((e) => {
    process.stderr.write(`${script}: ${e?.stack ?? e}\n`)
    process.exit(1)
  })
}
