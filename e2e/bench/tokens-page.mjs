// The tokens page in Chromium (make bench, section 4): how long after navigation start the
// service-token table is usable, for an administrator who is already signed in.
//
// "Usable" is the later of two moments, both on the page's own clock (0 = navigation start):
//   - the first page of rows (--rows, 50 by default: the portal's page size) is in the table
//     and the frame showing it has been produced;
//   - a real click (Chromium mouse input, not a script call) on the first row's "Revoke …"
//     button, sent as soon as the rows are there, has opened the revoke dialog and the frame
//     showing it has been produced.
// The click goes to where the button is on the screen (the page is polled every animation
// frame until the rows are there), so the second moment includes the automation's reaction
// time between the rows appearing and the click arriving; that time is reported separately
// (clickSentAfterRowsMs), so is the click's own answer time (clickToDialogMs).
//
// After closing the dialog, the script types the last row's subject into "Filter by subject"
// and times the input until only matching rows are left (filterMs: the portal's 250 ms
// debounce, the request and the render).
//
// Each timed load uses a fresh browser context (empty cache, cookies set before navigation);
// one untimed load goes first (--warmup). Prints one JSON line: the tags, and per-load
// figures in ms.
//
//   CODEMETRICS_SESSION=... node bench/tokens-page.mjs \
//     --url http://127.0.0.1:8080 [--loads 5] [--warmup 1] [--rows 50] [--tag key=value ...]
//
// CODEMETRICS_SESSION is the session cookie's value, from a real sign-in (make bench signs in
// through an OpenID provider and passes it). CHROMIUM_PATH is the browser (/usr/bin/chromium).
import { column, ms, parseArgs as parseBenchArgs, runLoads, runMain, withPage } from './page-bench.mjs'

function parseArgs(argv) {
  return parseBenchArgs(argv, { loads: 5, warmup: 1, rows: 50, path: '/admin/service-tokens' }, {
    numbers: ['loads', 'warmup', 'rows'],
    strings: ['path'],
  })
}

// Runs in the page before any of its scripts: marks the moments on the page's clock.
function instrument({ rows }) {
  const b = {
    rowsDom: null, rows: null, click: null, clickHandled: null, dialogDom: null, dialog: null,
    filter: null, firstPage: 0, input: null, narrowedDom: null, narrowed: null,
  }
  Object.defineProperty(window, '__tokensBench', { value: b })
  // The end of the frame that shows the current DOM: after the next animation frame's
  // rendering, a posted message runs.
  const afterFrame = (key) =>
    requestAnimationFrame(() => {
      const ch = new MessageChannel()
      ch.port1.onmessage = () => {
        b[key] = performance.now()
      }
      ch.port2.postMessage(null)
    })
  const rowHeaders = () => document.querySelectorAll('table tbody th[scope="row"]')
  const check = () => {
    const now = performance.now()
    if (b.rowsDom === null && rowHeaders().length >= rows) {
      b.rowsDom = now
      b.firstPage = rowHeaders().length
      afterFrame('rows')
    }
    if (b.click !== null && b.dialogDom === null && document.querySelector('dialog[open]')) {
      b.dialogDom = now
      afterFrame('dialog')
    }
    if (b.input !== null && b.narrowedDom === null) {
      const hs = [...rowHeaders()]
      const subjects = hs.map((h) => h.firstElementChild?.textContent ?? '')
      if (hs.length > 0 && hs.length < b.firstPage && subjects.every((s) => s.includes(b.filter))) {
        b.narrowedDom = now
        afterFrame('narrowed')
      }
    }
  }
  new MutationObserver(check).observe(document, {
    childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['open'],
  })
  addEventListener(
    'click',
    (e) => {
      if (e.isTrusted && b.click === null) {
        b.click = e.timeStamp
        b.clickHandled = performance.now()
      }
    },
    true,
  )
  addEventListener(
    'input',
    (e) => {
      if (b.filter !== null && b.input === null) b.input = e.timeStamp
    },
    true,
  )
}

async function load(browser, opts, cookies) {
  const setup = { instrument, arg: { rows: opts.rows }, bench: '__tokensBench', timeout: 30_000 }
  return withPage(browser, cookies, setup, async (page, { fail, mark }) => {
    await page.goto(opts.url + opts.path, { waitUntil: 'commit' })
    // As soon as the first page of rows is in the table, click the first row's Revoke button
    // where it is on the screen: real mouse input, hit-tested by the browser like a person's.
    const target = await page
      .waitForFunction(
        () => {
          if (window.__tokensBench.rowsDom === null) return null
          const r = document.querySelector('table tbody tr button[aria-label^="Revoke "]')?.getBoundingClientRect()
          return r && r.width > 0 && r.bottom <= innerHeight ? { x: r.x + r.width / 2, y: r.y + r.height / 2 } : null
        },
        null,
        { polling: 'raf', timeout: 30_000 },
      )
      .then((h) => h.jsonValue())
      .catch((e) => fail(`the table never showed ${opts.rows} rows with a Revoke button on the screen`, e))
    await page.mouse.click(target.x, target.y)
    await mark('rows').catch((e) => fail(`the table never showed ${opts.rows} rows`, e))
    await mark('dialog').catch((e) => fail('the revoke dialog did not open', e))

    await page.keyboard.press('Escape')
    await page
      .locator('dialog[open]')
      .waitFor({ state: 'detached', timeout: 10_000 })
      .catch((e) => fail('the dialog did not close', e))
    const status = (await page.getByText(/^Showing [\d,]+ of [\d,]+/).textContent({ timeout: 5000 })) ?? ''
    const [, shown, total] = status.match(/Showing ([\d,]+) of ([\d,]+)/) ?? []
    const lastSubject = page.locator('table tbody th[scope="row"] > :first-child').nth(opts.rows - 1)
    const subject = (await lastSubject.textContent()) ?? ''
    await page.evaluate((s) => {
      window.__tokensBench.filter = s
    }, subject)
    await page.getByLabel('Filter by subject').fill(subject)
    await mark('narrowed').catch((e) => fail(`filtering by "${subject}" did not narrow the rows`, e))

    const m = await page.evaluate((rows) => {
      const b = window.__tokensBench
      const nav = performance.getEntriesByType('navigation')[0]
      const fcp = performance.getEntriesByName('first-contentful-paint')[0]
      // the first page's request (GET /api/tokens?limit=50&...)
      const api = performance.getEntriesByType('resource').find((e) => {
        const u = new URL(e.name)
        return u.pathname === '/api/tokens' && u.searchParams.get('limit') === String(rows)
      })
      return {
        domContentLoaded: nav ? nav.domContentLoadedEventEnd : null,
        firstContentfulPaint: fcp ? fcp.startTime : null,
        tokensResponseEnd: api ? api.responseEnd : null,
        rows: b.rows,
        usable: Math.max(b.rows, b.dialog),
        clickSentAfterRows: b.click - b.rowsDom,
        inputDelay: b.clickHandled - b.click,
        clickToDialog: b.dialog - b.click,
        filter: b.narrowed - b.input,
      }
    }, opts.rows)
    return { ...m, shown: Number((shown ?? '').replaceAll(',', '')), total: Number((total ?? '').replaceAll(',', '')) }
  })
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const { version, runs } = await runLoads(
    opts,
    load,
    (r) => `rows ${ms(r.rows)}, usable ${ms(r.usable)}, filter ${ms(r.filter)} (${r.shown} of ${r.total})`,
  )
  const last = runs.at(-1)
  const out = {
    tags: { kind: 'browser', page: opts.path, ...opts.tags },
    loads: runs.length,
    firstPageRows: last.shown,
    pageTotal: last.total,
    chromium: version,
    domContentLoadedMs: column(runs, 'domContentLoaded'),
    firstContentfulPaintMs: column(runs, 'firstContentfulPaint'),
    tokensResponseEndMs: column(runs, 'tokensResponseEnd'),
    rowsShownMs: column(runs, 'rows'),
    usableMs: column(runs, 'usable'),
    clickSentAfterRowsMs: column(runs, 'clickSentAfterRows'),
    inputDelayMs: column(runs, 'inputDelay'),
    clickToDialogMs: column(runs, 'clickToDialog'),
    filterMs: column(runs, 'filter'),
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}

runMain('tokens-page', main)
