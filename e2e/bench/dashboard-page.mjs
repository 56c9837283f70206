// The dashboard in Chromium (make bench, the dashboard scenario): how long after navigation
// start the dashboard is usable, for an administrator who is already signed in. Measured like
// the tokens page (tokens-page.mjs): a fresh browser context per load, cookies set before
// navigation, moments taken on the page's own clock (0 = navigation start) by a
// MutationObserver installed before the page's scripts, each at the end of the frame that
// shows it (the next animation frame's rendering, then a posted message).
//
// "Usable" is the later of two moments:
//   - picker: the workload picker is rendered: its search box (the combobox input) is in the
//     page, enabled, and its status line says "Charting the N most recently active of
//     --workloads workloads" (so the workload list has been loaded and counted);
//   - charts: every charted workload's two charts (coverage and build success rate; --charted,
//     12 by default: the dashboard's dozen) have drawn their line, a dot or a curve of
//     recharts' SVG, from the answer of POST /api/query (30 days, the dashboard's default).
// The recent-runs table is not waited for: it loads beside the charts and is not what "usable"
// means here. Also reported: the ends of the GET /api/workloads and POST /api/query responses.
//
// One untimed load goes first (--warmup). Prints one JSON line: the tags, and per-load figures
// in ms.
//
//   CODEMETRICS_SESSION=... node bench/dashboard-page.mjs \
//     --url http://127.0.0.1:8080 --workloads 200 [--charted 12] [--loads 5] [--warmup 1] [--tag key=value ...]
import { column, ms, parseArgs as parseBenchArgs, runLoads, runMain, withPage } from './page-bench.mjs'

function parseArgs(argv) {
  return parseBenchArgs(argv, { loads: 5, warmup: 1, workloads: 0, charted: 12 }, {
    numbers: ['loads', 'warmup', 'workloads', 'charted'],
  })
}

// Runs in the page before any of its scripts: marks the moments on the page's clock.
function instrument({ workloads, charts }) {
  const b = { pickerDom: null, picker: null, chartsDom: null, charts: null, drawn: 0, status: '' }
  Object.defineProperty(window, '__dashboardBench', { value: b })
  const afterFrame = (key) =>
    requestAnimationFrame(() => {
      const ch = new MessageChannel()
      ch.port1.onmessage = () => {
        b[key] = performance.now()
      }
      ch.port2.postMessage(null)
    })
  const pickerShown = () => {
    const input = document.querySelector('input[role="combobox"]')
    if (!input || input.disabled) return false
    for (const p of document.querySelectorAll('section p')) {
      const t = p.textContent ?? ''
      if (t.startsWith('Charting the ') && t.includes(` of ${workloads} workloads`)) {
        b.status = t
        return true
      }
    }
    return false
  }
  const chartsDrawn = () => {
    let n = 0
    for (const f of document.querySelectorAll('figure.chart')) {
      if (f.querySelector('.recharts-line-dot, .recharts-line-curve[d]')) n++
    }
    b.drawn = n
    return n >= charts
  }
  const check = () => {
    const now = performance.now()
    if (b.pickerDom === null && pickerShown()) {
      b.pickerDom = now
      afterFrame('picker')
    }
    if (b.chartsDom === null && chartsDrawn()) {
      b.chartsDom = now
      afterFrame('charts')
    }
  }
  new MutationObserver(check).observe(document, { childList: true, subtree: true, characterData: true, attributes: true })
}

// where says how far the dashboard got, for a failure.
async function where(page) {
  const state = await page.evaluate(() => window.__dashboardBench).catch(() => ({}))
  return `, ${state.drawn ?? 0} charts drawn, status "${state.status ?? ''}"`
}

async function load(browser, opts, cookies) {
  const charts = 2 * Math.min(opts.charted, opts.workloads)
  const setup = { instrument, arg: { workloads: opts.workloads, charts }, bench: '__dashboardBench', timeout: 60_000, where }
  return withPage(browser, cookies, setup, async (page, { fail, mark }) => {
    await page.goto(opts.url + '/', { waitUntil: 'commit' })
    await mark('picker').catch((e) => fail(`the workload picker never showed ${opts.workloads} workloads`, e))
    await mark('charts').catch((e) => fail(`the dashboard never drew ${charts} charts`, e))

    return page.evaluate(() => {
      const b = window.__dashboardBench
      const fcp = performance.getEntriesByName('first-contentful-paint')[0]
      const end = (path, method) =>
        performance
          .getEntriesByType('resource')
          .find((e) => new URL(e.name).pathname === path && (method !== 'POST' || e.initiatorType === 'fetch'))?.responseEnd ?? null
      return {
        firstContentfulPaint: fcp ? fcp.startTime : null,
        workloadsResponseEnd: end('/api/workloads'),
        queryResponseEnd: end('/api/query', 'POST'),
        picker: b.picker,
        charts: b.charts,
        usable: Math.max(b.picker, b.charts),
        drawn: b.drawn,
        status: b.status,
      }
    })
  })
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const { version, runs } = await runLoads(
    opts,
    load,
    (r) => `picker ${ms(r.picker)}, charts ${ms(r.charts)} (${r.drawn}), usable ${ms(r.usable)}`,
  )
  const last = runs.at(-1)
  const total = Number((last.status.match(/ of ([\d,]+) workloads/)?.[1] ?? '').replaceAll(',', ''))
  const out = {
    tags: { kind: 'browser', page: '/', ...opts.tags },
    loads: runs.length,
    chromium: version,
    charted: Math.min(opts.charted, opts.workloads),
    charts: last.drawn,
    pickerTotal: total,
    firstContentfulPaintMs: column(runs, 'firstContentfulPaint'),
    workloadsResponseEndMs: column(runs, 'workloadsResponseEnd'),
    queryResponseEndMs: column(runs, 'queryResponseEnd'),
    pickerMs: column(runs, 'picker'),
    chartsMs: column(runs, 'charts'),
    usableMs: column(runs, 'usable'),
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}

runMain('dashboard-page', main)
