// xss.test.mjs — client-controlled text never runs in the admin, proved in a real browser.
//
// Requests through the gateway carry payloads (`<script>…</script>`, `"><img src=x onerror=…>`,
// `<svg onload=…>`) in the prompt, the model, property values, the session id, name and path,
// the user agent, the referer, the client request id, a custom header and the upstream's answer
// (plain and streamed). The Logs list, each request's detail, Sessions, a session, and Analytics
// (by model, agent, property) are opened, and so are forms that echo what was typed or put in
// the URL (log filters, analytics, login, Keys). Every payload calls the canary function (and
// alert()); the test asserts that no canary call, dialog, CSP violation or script error happened,
// that no element carrying a payload exists in the DOM, that no request for the payload's image
// was made, and that the payload is shown as text.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { useAdminBrowser, assertClean, login, pageRecords, screenshot, CANARY } from './lib/browser.mjs';
import { request } from '../integration/lib/http.mjs';
import { chatCompletion, sendJson, streamDefault } from '../integration/lib/mock-upstream.mjs';

const RUN = randomUUID().slice(0, 8);
/** `<script>` that calls the canary with where; alert() as a second witness. */
const S = (where) => `<script>alert(1);${CANARY}('${where}')</script>`;
/** Breaks out of an attribute and adds an image whose error handler calls the canary. */
const I = (where) => `"><img src=x alt=${where} onerror=${CANARY}(alt)>`;
/** An SVG whose load handler calls the canary. */
const V = (where) => `'><svg/onload=${CANARY}('${where}')>`;

const SESSION_PLAIN = `xss-${RUN}`;
// (No "/" in it: such ids get their own test below.)
const SESSION_EVIL = `${I('session-id')}${RUN}`;
const SESSION_SLASH = `${S('session-slash')}${RUN}`;
const MODEL_EVIL = `gpt-4o-mini${I('model')}`;
const PROMPT = `${S('prompt')} and ${I('prompt')} and ${V('prompt')}`;
const ANSWER = `${S('answer')} ${I('answer')}`;
const STREAM_PIECES = [S('stream'), ' ', I('stream')];
const ids = {};

const ctx = useAdminBrowser({
  name: 'xss',
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'up-xss', provider: 'openai-compatible', baseUrl: mock.baseUrl, secret });
    const vk = await gw.createVk({ name: 'xss-app', providerKey: 'up-xss', agent: 'xss-agent', department: 'xss-dept' });
    mock.setHandler((req, res, rec) => {
      const body = JSON.parse(rec.body.toString('utf8'));
      if (body.stream) return streamDefault(res, body, { pieces: STREAM_PIECES });
      return sendJson(res, 200, chatCompletion(body.model, { content: ANSWER }));
    });
    const send = async (name, headers, body) => {
      const res = await request(gw.base, {
        method: 'POST', path: '/v1/chat/completions',
        headers: { authorization: `Bearer ${vk}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 200, `${name}: ${res.text.slice(0, 300)}`);
      ids[name] = res.headers['alephant-id'];
    };
    await send('plain', {
      'alephant-property-env': I('property'),
      'alephant-property-note': S('property'),
      'alephant-session-id': SESSION_PLAIN,
      'alephant-session-name': `${S('session-name')}${I('session-name')}`,
      'alephant-session-path': `/plan/${I('session-path')}`,
      'user-agent': S('user-agent'),
      referer: `http://example.invalid/${I('referer')}`,
      'x-request-id': S('client-request-id'),
      'x-echo': `${S('header')}${V('header')}`,
    }, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] });
    await send('stream', { 'alephant-session-id': SESSION_PLAIN, 'alephant-session-path': '/plan/stream' },
      { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: PROMPT }] });
    await send('evil-model', { 'alephant-session-id': SESSION_EVIL, 'alephant-property-env': V('property') },
      { model: MODEL_EVIL, messages: [{ role: 'user', content: 'hi' }] });
    await send('slash-session', { 'alephant-session-id': SESSION_SLASH },
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'slash' }] });
    mock.resetHandler();
    await gw.waitForLogs((r) => Object.values(ids).includes(r.request_id), { count: Object.keys(ids).length });
  },
});

/** Log row id (the number in /admin/logs/{id}) of a request id, from the JSON API. */
async function logRowId(page, requestId) {
  const res = await page.request.get(`/admin/api/logs?limit=50`);
  assert.equal(res.status(), 200);
  const row = (await res.json()).rows.find((r) => r.request_id === requestId);
  assert.ok(row, `no log row for ${requestId}`);
  return row.id;
}

/**
 * Opens path (or uses the page as it is when path is null) and proves that nothing injected:
 * no canary call or CSP violation (in the page and reported), no element with an event-handler
 * attribute, no inline script, no request for the payload image, no dialog, no script error;
 * and that each of texts is on the page as text.
 */
async function assertInert(w, path, what, { texts = [], status = 200, allowStatus = [], cspHeader = true } = {}) {
  const { page, ev } = w;
  if (path !== null) {
    const res = await page.goto(path);
    assert.equal(res.status(), status, `${what}: HTTP status`);
    if (cspHeader) assert.match(res.headers()['content-security-policy'] || '', /script-src 'self'/, `${what}: CSP header`);
  }
  const rec = await pageRecords(page);
  assert.deepEqual(rec.xss, [], `${what}: the canary ran`);
  assert.deepEqual(rec.csp, [], `${what}: CSP violations (an injected script or handler reached the DOM)`);
  const injected = await page.locator('[onerror], [onload], [onclick], [onmouseover], img[src="x"]').count();
  assert.equal(injected, 0, `${what}: elements from a payload are in the DOM`);
  assert.equal(await page.locator('script:not([src])').count(), 0, `${what}: inline <script> in the DOM`);
  const scripts = await page.locator('script[src]').evaluateAll((els) => els.map((e) => new URL(e.src).pathname));
  assert.deepEqual(scripts.filter((s) => s !== '/admin/static/admin.js'), [], `${what}: foreign scripts`);
  const imgRequests = ev.requests.filter((u) => /\/x(\?|$)/.test(new URL(u).pathname));
  assert.deepEqual(imgRequests, [], `${what}: the payload image was requested`);
  const text = await page.locator('body').innerText();
  for (const t of texts) assert.ok(text.includes(t), `${what}: ${JSON.stringify(t)} is not shown as text`);
  assertClean(ev, { allowStatus }, what);
}

ctx.test('Logs list and filters: every payload is text', async () => {
  const w = await ctx.open();
  await login(w.page, ctx.viewer.user, ctx.viewer.password);
  await assertInert(w, '/admin/logs', 'the Logs list', {
    texts: [`env=${I('property')}`, `note=${S('property')}`, MODEL_EVIL, SESSION_EVIL, SESSION_PLAIN],
  });
  await screenshot(w.page, 'xss-logs');
  // Filters echo what is typed: through the form, then straight in the URL.
  const filters = w.page.locator('form.filters');
  await filters.getByLabel('Model', { exact: true }).fill(MODEL_EVIL);
  await filters.getByRole('button', { name: 'Filter', exact: true }).click();
  await w.page.waitForURL(/[?&]model=/);
  await assertInert(w, null, 'the Logs list filtered by the payload model', { texts: [MODEL_EVIL] });
  assert.equal(await filters.getByLabel('Model', { exact: true }).inputValue(), MODEL_EVIL);
  const q = new URLSearchParams({ agent: I('filter-agent'), property: 'env', value: S('filter-value'), session_id: V('filter-session') });
  await assertInert(w, `/admin/logs?${q}`, 'the Logs list with payloads in the URL');
  assert.equal(await filters.getByLabel('Agent', { exact: true }).inputValue(), I('filter-agent'));
  assert.equal(await filters.getByLabel('Value', { exact: true }).inputValue(), S('filter-value'));
  await screenshot(w.page, 'xss-logs-filter');
});

ctx.test('a request\'s detail: prompt, answer, properties, headers, session, user agent are text', async () => {
  const w = await ctx.open();
  await login(w.page, ctx.viewer.user, ctx.viewer.password);
  const id = await logRowId(w.page, ids.plain);
  await assertInert(w, `/admin/logs/${id}`, 'the detail of the plain request', {
    texts: [I('property'), S('property'), S('user-agent'), S('client-request-id'), `${S('header')}${V('header')}`,
      '<script>alert(1);', `/plan/${I('session-path')}`],
  });
  // The bodies are JSON (quotes escaped there): the prompt's and the answer's script tags show.
  const body = await w.page.locator('body').innerText();
  for (const where of ['prompt', 'answer']) {
    assert.ok(body.includes(`<script>alert(1);${CANARY}('${where}')</script>`), `the ${where} is not shown as text`);
  }
  await screenshot(w.page, 'xss-log-detail');
  const sid = await logRowId(w.page, ids.stream);
  await assertInert(w, `/admin/logs/${sid}`, 'the detail of the streamed request', { texts: [STREAM_PIECES.join('')] });
  await screenshot(w.page, 'xss-log-detail-stream');
  const eid = await logRowId(w.page, ids['evil-model']);
  await assertInert(w, `/admin/logs/${eid}`, 'the detail of the payload model', { texts: [MODEL_EVIL, V('property'), SESSION_EVIL] });
});

ctx.test('Sessions and a session\'s tree: ids, names and paths are text', async () => {
  const w = await ctx.open();
  await login(w.page, ctx.viewer.user, ctx.viewer.password);
  await assertInert(w, '/admin/sessions', 'the Sessions list', {
    texts: [SESSION_PLAIN, SESSION_EVIL, `${S('session-name')}${I('session-name')}`],
  });
  await screenshot(w.page, 'xss-sessions');
  // Open the payload session through its link (its id is escaped into the URL).
  await w.page.getByRole('link', { name: SESSION_EVIL }).first().click();
  await w.page.waitForURL(/\/admin\/sessions\/.+/);
  await assertInert(w, null, 'the payload session', { texts: [SESSION_EVIL, MODEL_EVIL] });
  await assertInert(w, `/admin/sessions/${encodeURIComponent(SESSION_PLAIN)}`, 'the session with payload name and path', {
    texts: [I('session-path'), `${S('session-name')}${I('session-name')}`],
  });
  await screenshot(w.page, 'xss-session');
});

ctx.test('Analytics by model, agent and property: keys are text; payload query parameters are inert', async () => {
  const w = await ctx.open();
  await login(w.page, ctx.viewer.user, ctx.viewer.password);
  await assertInert(w, '/admin/analytics?by=model', 'Analytics by model', { texts: [MODEL_EVIL] });
  await assertInert(w, '/admin/analytics?by=agent', 'Analytics by agent', { texts: ['xss-agent'] });
  await assertInert(w, '/admin/analytics?by=property&property=env', 'Analytics by a property', {
    texts: [I('property'), V('property')],
  });
  await screenshot(w.page, 'xss-analytics');
  const q = new URLSearchParams({ by: 'property', property: I('analytics-property') });
  const res = await w.page.goto(`/admin/analytics?${q}`);
  assert.ok(res.status() === 200 || res.status() === 400, `analytics with a payload property name: ${res.status()}`);
  await assertInert(w, null, 'Analytics with a payload property name', { allowStatus: [400] });
});

ctx.test('forms that echo input: login user and next, Keys name, virtual key name', async () => {
  const anon = await ctx.open();
  await assertInert(anon, `/admin/login?next=${encodeURIComponent(I('next'))}`, 'the login page with a payload next');
  await anon.page.getByLabel('User', { exact: true }).fill(I('login-user'));
  await anon.page.getByLabel('Password', { exact: true }).fill('wrong');
  await anon.page.getByRole('button', { name: 'Log in' }).click();
  await anon.page.getByText('Wrong user name or password.').waitFor();
  await assertInert(anon, null, 'the failed login', { allowStatus: [401] });
  assert.equal(await anon.page.getByLabel('User', { exact: true }).inputValue(), I('login-user'));

  const w = await ctx.open();
  await login(w.page, ctx.admin.user, ctx.admin.password);
  const form = w.page.locator('form').filter({ has: w.page.getByRole('button', { name: 'Add', exact: true }) });
  await form.getByLabel('Name', { exact: true }).fill(I('key-name'));
  await form.getByLabel('Base URL').fill(`http://127.0.0.1:9/${S('base-url')}`);
  await form.getByLabel('Secret', { exact: true }).fill('sk-not-used');
  await form.getByRole('button', { name: 'Add', exact: true }).click();
  await w.page.getByRole('status').filter({ hasText: /invalid|name/i }).waitFor();
  await assertInert(w, null, 'the Keys form refusing a payload name', { allowStatus: [400] });
  assert.equal(await form.getByLabel('Name', { exact: true }).inputValue(), I('key-name'));
  await screenshot(w.page, 'xss-keys-form');

  await w.page.goto('/admin/vks');
  const create = w.page.locator('form').filter({ has: w.page.getByRole('button', { name: 'Create', exact: true }) });
  await create.getByLabel('Name (the app, service or user)').fill(S('vk-name'));
  await create.getByLabel('Agent', { exact: true }).fill(I('vk-agent'));
  await create.getByRole('button', { name: 'Create', exact: true }).click();
  await w.page.getByRole('status').filter({ hasText: /invalid|name/i }).waitFor();
  await assertInert(w, null, 'the virtual key form refusing payload names', { allowStatus: [400] });
  await screenshot(w.page, 'xss-vks-form');
});

// A session id is whatever the client sent, "/" included; the router takes no "/" inside a
// path parameter, so the link of such a session is /admin/sessions/by-id?id=… (adm_session_url).
ctx.test('a session whose id holds "/" opens from its link', async () => {
  const w = await ctx.open();
  await login(w.page, ctx.viewer.user, ctx.viewer.password);
  await assertInert(w, '/admin/sessions', 'the Sessions list', { texts: [SESSION_SLASH] });
  const [res] = await Promise.all([
    w.page.waitForResponse((r) => r.url().includes('/admin/sessions/')),
    w.page.getByRole('link', { name: SESSION_SLASH }).first().click(),
  ]);
  assert.equal(res.status(), 200, `GET ${res.url()}`);
  await w.page.getByRole('heading', { name: `Session ${SESSION_SLASH}` }).waitFor();
  await assertInert(w, null, 'the session with "/" in its id', { texts: [SESSION_SLASH] });
});

// The checks above must be able to fail: serve the Logs page with its escaping undone (once
// with the real CSP header, once without any) and see assertInert() refuse it.
ctx.test('the detector catches a page that does not escape (with and without CSP)', async () => {
  for (const keepCsp of [true, false]) {
    const w = await ctx.open();
    await login(w.page, ctx.viewer.user, ctx.viewer.password);
    await w.page.route('**/admin/logs', async (route) => {
      const res = await route.fetch();
      const headers = { ...res.headers() };
      if (!keepCsp) delete headers['content-security-policy'];
      const html = (await res.text()).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'").replace(/&#x27;/g, "'");
      await route.fulfill({ status: res.status(), headers, body: html });
    });
    await assert.rejects(assertInert(w, '/admin/logs', 'the unescaped Logs page', { cspHeader: keepCsp }),
      keepCsp ? /CSP violations/ : /the canary ran/, `unescaped page, CSP ${keepCsp ? 'on' : 'off'}`);
    if (!keepCsp) {
      const rec = await pageRecords(w.page);
      assert.ok(rec.xss.length > 0, 'without CSP the payloads ran and called the canary');
    }
  }
});
