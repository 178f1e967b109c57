// The browser suite's harness: a real `mavis serve` signing in with a real, independent OpenID Connect provider
// (oidc-provider, configured as AWS configures CIS2), driven in Debian's headless Chromium by Playwright, with
// axe-core run on every page state a flow visits. Screenshots go to target/browser-tests/screenshots/.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '../..');
export const FIXTURES = resolve(ROOT, '../shared/fixtures/mavis');
const OUT = resolve(ROOT, 'target/browser-tests');
const SCREENSHOTS = join(OUT, 'screenshots');
mkdirSync(SCREENSHOTS, { recursive: true });
const AXE = readFileSync(join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');
const MAVIS = process.env.MAVIS_BIN ?? join(ROOT, 'target/debug/mavis');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CLIENT_SECRET = 'browser-tests-client-secret';

// The seed's users (seed/demo.toml), as the identity provider knows them.
const USERS = [
  'nurse@example.com:Test User',
  'superuser@example.com:Super User',
  'nurse2@example.com:Second Nurse',
  'reporter@example.com:National Reporter'
];

async function freePort () {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolvePort(port))
    })
    server.on('error', reject)
  })
}

/** Starts `command` and resolves with the first stdout line matching `pattern` (and the process). */
function start (command, args, pattern, env = {}) {
  return new Promise((resolveStart, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const timer = setTimeout(() => reject(new Error(`${command} did not start:\n${output}`)), 60_000)
    child.stdout.on('data', (chunk) => {
      output += chunk
      const match = output.match(pattern)
      if (match) {
        clearTimeout(timer)
        resolveStart({ child, match })
      }
    })
    child.stderr.on('data', (chunk) => { output += chunk })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${command} exited (${code}) before it was ready:\n${output}`))
    })
  })
}

/**
 * A fresh service on its own data folder, signing in with its own fresh identity provider.
 * `today` fixes the academic year (`mavis serve --today`); PDS and the Immunisations API are off unless `pds` or `imms`.
 */
export async function startService ({ today, maxUploadBytes, pds = false, imms = false } = {}) {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const provider = await start('node', [
    join(here, 'oidc-provider.mjs'), '--port', '0', '--client-id', 'mavis', '--client-secret', CLIENT_SECRET,
    '--redirect-uri', `${base}/auth/callback`, ...USERS.flatMap((u) => ['--user', u])
  ], /OIDC provider at (\S+)/)
  const issuer = provider.match[1]
  const data = mkdtempSync(join(tmpdir(), 'mavis-browser-'))
  // `pds` / `imms`: the runner's built-in PDS and Immunisations API emulators, instead of leaving the APIs off.
  const args = ['serve', '--port', String(port), '--data', data, '--oidc-issuer', issuer, '--oidc-client-id', 'mavis']
  if (!pds) args.push('--no-pds')
  if (!imms) args.push('--no-imms')
  if (today) args.push('--today', today)
  if (maxUploadBytes) args.push('--max-upload-bytes', String(maxUploadBytes))
  const mavis = await start(MAVIS, args, /Mavis is running at (\S+)/, { MAVIS_OIDC_CLIENT_SECRET: CLIENT_SECRET })
  return {
    base,
    data,
    /** A bearer token for the JSON API (`mavis token`), for steps no page offers, such as recording a vaccination. */
    token (user) {
      return execFileSync(MAVIS, ['token', '--user', user, '--data', data], { encoding: 'utf8' }).trim()
    },
    async stop () {
      mavis.child.kill('SIGTERM')
      provider.child.kill('SIGTERM')
    }
  }
}

export async function launchBrowser () {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync']
  })
}

/** A browser tab for one user: `javaScript: false` for the no-JavaScript runs, `width` for the narrow one. */
export async function openTab (browser, service, { javaScript = true, width = 1280, name } = {}) {
  const context = await browser.newContext({ javaScriptEnabled: javaScript, viewport: { width, height: 900 } })
  const page = await context.newPage()
  const violations = []
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/.test(message.text())) violations.push(message.text())
  })
  return new Tab(page, service, { javaScript, name: name ?? `run-${width}${javaScript ? '' : '-nojs'}`, violations })
}

export class Tab {
  constructor (page, service, { javaScript, name, violations }) {
    this.page = page
    this.service = service
    this.javaScript = javaScript
    this.name = name
    this.violations = violations
    this.shots = 0
  }

  url (path) { return `${this.service.base}${path}` }

  async goto (path) {
    const response = await this.page.goto(this.url(path))
    return response
  }

  /** Signs in through the identity provider's own page, as a user would. */
  async signIn (email) {
    await this.goto('/dashboard')
    await this.page.getByLabel('Email address').fill(email)
    await this.page.getByRole('button', { name: 'Sign in' }).click()
    await this.page.waitForURL(/\/dashboard$/)
  }

  /** The text of the page's main content and header, for assertions. */
  async text () { return this.page.locator('body').innerText() }

  async sees (...texts) {
    const body = await this.text()
    for (const text of texts) assert.ok(body.includes(text), `${this.name}: expected to see "${text}" on ${this.page.url()}\n---\n${body.slice(0, 3000)}`)
  }

  async seesNot (...texts) {
    const body = await this.text()
    for (const text of texts) assert.ok(!body.includes(text), `${this.name}: did not expect "${text}" on ${this.page.url()}`)
  }

  /**
   * Checks the page state: axe-core finds no violation of impact serious or critical, the Content-Security-Policy
   * refused nothing, and a screenshot is kept. Without JavaScript in the tab, axe runs on the same HTML in a
   * JavaScript-enabled copy of the page.
   */
  async check (state) {
    this.shots += 1
    const file = join(SCREENSHOTS, `${this.name}-${String(this.shots).padStart(2, '0')}-${state.replace(/[^a-z0-9]+/gi, '-')}.png`)
    await this.page.screenshot({ path: file, fullPage: true })
    assert.deepEqual(this.violations, [], `${this.name}: CSP violations on ${state}`)
    let results
    if (this.javaScript) {
      results = await this.page.evaluate(async (source) => {
        // axe's own source, evaluated by the test driver (not a script of the page).
        // eslint-disable-next-line no-eval
        (0, eval)(source)
        return window.axe.run(document, { resultTypes: ['violations'] })
      }, AXE)
    } else {
      const html = await this.page.content()
      const copy = await this.page.context().browser().newPage()
      await copy.setContent(html.replace('<head>', `<head><base href="${this.service.base}/">`))
      results = await copy.evaluate(async (source) => {
        (0, eval)(source)
        return window.axe.run(document, { resultTypes: ['violations'] })
      }, AXE)
      await copy.close()
    }
    const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    const report = serious.map((v) => `${v.impact} ${v.id}: ${v.help}\n  ${v.nodes.map((n) => n.target.join(' ')).join('\n  ')}`)
    assert.deepEqual(report, [], `${this.name}: axe found serious or critical violations on "${state}" (${this.page.url()})`)
    writeFileSync(file.replace(/\.png$/, '.axe.json'), JSON.stringify(results.violations, null, 2))
  }

  /** The upload page's file chooser, as a user picks a file. */
  async chooseFile (path) {
    await this.page.setInputFiles('input[type="file"]', path)
  }

  /** Continue on the upload page, then wait until the import page says `status` (reloading as a user would). */
  async uploadAndWait (path, status = 'Completed') {
    if (path) await this.chooseFile(path)
    await this.page.getByRole('button', { name: 'Continue' }).click()
    await this.page.waitForURL(/\/imports\/[0-9a-f-]{36}$/)
    for (let attempt = 0; attempt < 60; attempt += 1) {
      const tag = await this.page.locator('main p .nhsuk-tag').first().innerText()
      if (tag.trim() === status) return
      await this.page.waitForTimeout(500)
      await this.page.reload()
    }
    assert.fail(`${this.name}: the import never reached ${status} (${this.page.url()})`)
  }
}

export function fixture (relative) {
  return join(FIXTURES, relative)
}

/** A CSV file of the test's own, written to a temporary folder. */
export function csvFile (name, text) {
  const folder = mkdtempSync(join(tmpdir(), 'mavis-csv-'))
  const path = join(folder, name)
  writeFileSync(path, text)
  return path
}

/** Runs `body` against a fresh service, stopping it afterwards whatever happens. */
export async function withService (options, body) {
  const service = await startService(options)
  try {
    await body(service)
  } finally {
    await service.stop()
  }
}

/** Import records → the type → Continue, as a user clicks through P2 and P3. */
export async function chooseType (tab, label) {
  await tab.page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: /^Imports/ }).click()
  await tab.page.getByRole('button', { name: 'Import records' }).click()
  await tab.page.getByLabel(label).check()
  await tab.page.getByRole('button', { name: 'Continue' }).click()
}

/** A class list into `school` for Years 8 to 11, through P3, P4 and P5, waiting until it is processed. */
export async function importClassList (tab, school, path) {
  await chooseType(tab, 'Class list records')
  await tab.page.getByLabel('Which school is this class list for?').selectOption({ label: school })
  await tab.page.getByRole('button', { name: 'Continue' }).click()
  for (const year of ['Year 8', 'Year 9', 'Year 10', 'Year 11']) await tab.page.getByLabel(year, { exact: true }).check()
  await tab.page.getByRole('button', { name: 'Continue' }).click()
  await tab.uploadAndWait(path)
}
