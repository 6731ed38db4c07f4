// browser.mjs — headless Chromium (playwright-core) against one gateway + admin instance per test
// file, on the integration harness (lighttpd mounts the admin program at /admin).
//
// useAdminBrowser() starts a mock upstream, lighttpd + gateway + admin, an admin and a viewer
// account and one Chromium; ctx.open() gives a fresh browser context (own cookies) whose page
// records everything a broken or attacked page would show: dialogs, uncaught errors, console
// errors, Content-Security-Policy violations (securitypolicyviolation events), calls of the
// XSS canary function and requests that leave the admin. Screenshots are full-page PNGs in
// $GW_SCREENSHOTS (run.sh: $top_builddir/tests/browser-screenshots).

import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startGateway, requirePackage, TOP_BUILDDIR } from '../../integration/lib/gateway.mjs';
import { startMockUpstream } from '../../integration/lib/mock-upstream.mjs';
import { newSecret } from '../../integration/lib/suite.mjs';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOT_DIR = process.env.GW_SCREENSHOTS || path.join(TOP_BUILDDIR, 'tests', 'browser-screenshots');
/** The name of the function XSS payloads call: if it ever runs, the canary records it. */
export const CANARY = '__alephantXss';

/**
 * Chromium's sandbox is on, except as root: there Chromium refuses to start with it ("Chromium
 * sandboxing failed", checked as root and as nobody on Debian 12), and CI containers run as root.
 * Playwright then passes --no-sandbox; the browser only loads our own pages from 127.0.0.1.
 * CHROMIUM_NO_SANDBOX=1 turns it off elsewhere too (a container without user namespaces).
 * --disable-dev-shm-usage because containers often have a tiny /dev/shm, which crashes renderers.
 */
export function chromiumOptions() {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return {
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: !root && process.env.CHROMIUM_NO_SANDBOX !== '1',
    args: ['--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
  };
}

export async function launchChromium() {
  const { chromium } = requirePackage('playwright-core');
  return chromium.launch(chromiumOptions());
}

/** Saves a full-page screenshot as SCREENSHOT_DIR/name.png; resolves its path. */
export async function screenshot(page, name) {
  await fsp.mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

function randomPassword() {
  return 'pw-' + randomBytes(18).toString('base64url');
}

/**
 * A browser context with one page and its recorders. base is the gateway's origin; every
 * relative page.goto() resolves against it. permissions: e.g. ['clipboard-read', 'clipboard-write'].
 */
export async function openWatched(browser, base, { permissions = [] } = {}) {
  const context = await browser.newContext({ baseURL: base, permissions, viewport: { width: 1280, height: 900 } });
  const ev = { dialogs: [], pageErrors: [], consoleErrors: [], csp: [], canary: [], foreignRequests: [], requests: [] };
  // The canary and the CSP listener are installed in every document before its own scripts.
  // Each records in the page (read synchronously by pageRecords()) and reports to the test
  // process (ev.canary, ev.csp) so nothing is missed across navigations.
  await context.exposeFunction('__alephantReport', (kind, v) => { (kind === 'xss' ? ev.canary : ev.csp).push(v); });
  await context.addInitScript((canary) => {
    const seen = { xss: [], csp: [] };
    Object.defineProperty(window, '__alephantSeen', { value: seen });
    const report = (kind, v) => {
      seen[kind].push(v);
      try { window.__alephantReport(kind, v); } catch { /* recorded in the page all the same */ }
    };
    Object.defineProperty(window, canary, { value: (what) => report('xss', String(what)) });
    document.addEventListener('securitypolicyviolation', (e) => {
      report('csp', {
        directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile,
        line: e.lineNumber, sample: e.sample, document: e.documentURI,
      });
    }, true);
  }, CANARY);
  // A guard against a hang, not a measurement: Playwright's waits give up after this long.
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  page.on('dialog', (d) => {
    ev.dialogs.push({ type: d.type(), message: d.message() });
    // Confirmations of destructive forms (admin.js) are accepted; anything else is dismissed.
    (d.type() === 'confirm' ? d.accept() : d.dismiss()).catch(() => {});
  });
  page.on('pageerror', (e) => { ev.pageErrors.push(String(e && e.stack ? e.stack : e)); });
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const url = m.location().url;
    ev.consoleErrors.push({ text: m.text(), url });
  });
  page.on('request', (r) => {
    const u = r.url();
    ev.requests.push(u);
    if (!u.startsWith(base + '/') && !u.startsWith('data:')) ev.foreignRequests.push(u);
  });
  return { context, page, ev };
}

/**
 * Asserts that nothing of ev shows a problem: no dialog (other than confirmations when
 * allowConfirm), no uncaught error, no CSP violation, no canary call, no request leaving the
 * gateway's origin, and no console error except "Failed to load resource" for the status codes in
 * allowStatus (the browser logs a 403/404 page that way). Empties ev, so the next check of a page
 * shared by several steps sees only what happened since.
 */
export function assertClean(ev, { allowConfirm = false, allowStatus = [] } = {}, what = 'the page') {
  const seen = Object.fromEntries(Object.entries(ev).map(([k, v]) => [k, v.splice(0)]));
  assert.deepEqual(seen.canary, [], `XSS canary called on ${what}`);
  assert.deepEqual(seen.csp, [], `Content-Security-Policy violations on ${what}`);
  assert.deepEqual(seen.pageErrors, [], `uncaught script errors on ${what}`);
  assert.deepEqual(seen.dialogs.filter((d) => !(allowConfirm && d.type === 'confirm')), [], `dialogs on ${what}`);
  assert.deepEqual(seen.foreignRequests, [], `requests leaving the gateway's origin from ${what}`);
  const allowed = (e) => allowStatus.some((s) => e.text.includes(`Failed to load resource: the server responded with a status of ${s}`));
  assert.deepEqual(seen.consoleErrors.filter((e) => !allowed(e)), [], `console errors on ${what}`);
}

/**
 * What the current document recorded: { xss: [canary calls], csp: [violations] }. Runs after a
 * task turn, so events queued while the page loaded have been dispatched.
 */
export async function pageRecords(page) {
  return page.evaluate(() => new Promise((resolve) => {
    setTimeout(() => resolve(JSON.parse(JSON.stringify(window.__alephantSeen))), 0);
  }));
}

/** Logs in through the login form; waits until the browser has left the login page. */
export async function login(page, user, password) {
  await page.goto('/admin/login');
  await page.getByLabel('User', { exact: true }).fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.endsWith('/login')),
    page.getByRole('button', { name: 'Log in' }).click(),
  ]);
}

/**
 * Registers before/after hooks for one test file. Returns ctx, filled in before():
 *   gw, mock, secret (a provider secret the mock does not check), browser,
 *   admin / viewer: { user, password } accounts of each role,
 *   open(options): openWatched() on this gateway, closed after the test that opened it,
 *   openPersistent(options): the same, kept for the file's later tests (closed in after()),
 *   test(name, [options], fn): node:test's test(); the contexts it opened are closed after it;
 *     when fn throws, the instance is kept for debugging and each of its pages is saved as
 *     FAILED-<name>-<n>.png (TODO-… for a known-failing todo test).
 * setup(ctx) runs once everything is up.
 */
export function useAdminBrowser({ gateway = {}, setup, name = 'browser' } = {}) {
  const ctx = {
    gw: null, mock: null, secret: newSecret(), browser: null,
    admin: { user: 'root-admin', password: randomPassword() },
    viewer: { user: 'auditor', password: randomPassword() },
  };
  const opened = []; // contexts of the running test, closed after it
  const kept = []; // contexts shared by a file's tests (openPersistent), closed in after()
  before(async () => {
    ctx.mock = await startMockUpstream();
    ctx.gw = await startGateway(gateway);
    try {
      await ctx.gw.ctl(['admin', 'add', '--user', ctx.admin.user, '--role', 'admin', '--password-stdin'],
        { input: ctx.admin.password + '\n' });
      await ctx.gw.ctl(['admin', 'add', '--user', ctx.viewer.user, '--role', 'viewer', '--password-stdin'],
        { input: ctx.viewer.password + '\n' });
      ctx.browser = await launchChromium();
      if (setup) await setup(ctx);
    } catch (e) { ctx.gw.markFailed(); throw e; }
  }, { timeout: 60_000 });
  after(async () => {
    try {
      for (const w of [...opened, ...kept]) await w.context.close().catch(() => {});
      if (ctx.browser) await ctx.browser.close();
    } finally {
      try {
        if (ctx.gw) await ctx.gw.stop();
      } finally {
        if (ctx.mock) await ctx.mock.close();
      }
    }
  }, { timeout: 60_000 });
  ctx.open = async (options) => {
    const w = await openWatched(ctx.browser, ctx.gw.base, options);
    opened.push(w);
    return w;
  };
  ctx.openPersistent = async (options) => {
    const w = await openWatched(ctx.browser, ctx.gw.base, options);
    kept.push(w);
    return w;
  };
  let failures = 0;
  ctx.test = (title, opts, fn) => {
    if (typeof opts === 'function') { fn = opts; opts = {}; }
    return test(title, { timeout: 60_000, ...opts }, async (t) => {
      const first = opened.length;
      try {
        return await fn(t);
      } catch (e) {
        if (!opts.todo) ctx.gw?.markFailed(); // a known-failing (todo) test keeps no state dir
        for (const w of [...opened.slice(first), ...kept]) {
          for (const p of w.context.pages()) {
            await screenshot(p, `${opts.todo ? 'TODO' : 'FAILED'}-${name}-${++failures}`).catch(() => {});
          }
        }
        throw e;
      } finally {
        for (const w of opened.splice(first)) await w.context.close().catch(() => {});
      }
    });
  };
  return ctx;
}
