// The admin program behind lighttpd (mounted at /admin by lighttpd.conf): authentication on every
// route of its route table (`alephant-admin --routes`), the viewer role, login rate limit,
// session cookie flags, logout and idle expiry, CSRF, security headers on every response, admin
// API tokens, the Keys and Agents & Virtual Keys pages and their API (secret write-only, delete
// refused while in use, a token shown exactly once and usable at the gateway), and HTML escaping
// of hostile names and models.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useGateway } from './lib/suite.mjs';
import { ADMIN_BIN, run, startGateway } from './lib/gateway.mjs';
import { request, postJson, chatBody, pollUntil } from './lib/http.mjs';
import {
  AdminClient, addAdminUser, createAdminToken, apiWithToken, assertSecurityHeaders,
} from './lib/admin-client.mjs';

const ROOT_PW = 'root-password-1';
const VIEWER_PW = 'viewer-password-1';
const XSS_SCRIPT = '<script>alert(1)</script>';
const XSS_IMG = '"><img src=x onerror=alert(2)>';

const ctx = useGateway({
  gateway: {
    processes: 1, threads: 4,
    env: { ALEPHANT_ADMIN_LOGIN_MAX_FAILURES: '3' },
  },
  setup: async ({ gw }) => {
    await addAdminUser(gw, 'root', ROOT_PW, 'admin');
    await addAdminUser(gw, 'watcher', VIEWER_PW, 'viewer');
    await addAdminUser(gw, 'victim', 'victim-password-1', 'admin');
    await gw.addProviderKey({ name: 'mockpk', provider: 'mock' });
  },
});

async function rootClient() {
  const c = new AdminClient(ctx.gw.base);
  const res = await c.login('root', ROOT_PW);
  assert.equal(res.status, 303, res.text);
  return c;
}

async function viewerClient() {
  const c = new AdminClient(ctx.gw.base);
  const res = await c.login('watcher', VIEWER_PW);
  assert.equal(res.status, 303, res.text);
  return c;
}

/** The route table, from the program itself: [{ method, pattern, role, path }]. */
async function routes() {
  const r = await run(ADMIN_BIN, ['--routes']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').map((line) => {
    const [method, pattern, role] = line.split(' ');
    return { method, pattern, role, path: '/admin' + pattern.replace(/\{[^}]+\}/g, 'x') };
  });
}

test('the route table lists the pages and API routes', async () => {
  const all = await routes();
  const has = (m, p) => all.some((r) => r.method === m && r.pattern === p);
  for (const [m, p] of [['GET', '/keys'], ['POST', '/keys'], ['GET', '/vks'], ['POST', '/vks'],
    ['GET', '/api/provider-keys'], ['DELETE', '/api/provider-keys/{name}'],
    ['POST', '/api/virtual-keys'], ['GET', '/api/budgets'], ['GET', '/logs']]) {
    assert.ok(has(m, p), `${m} ${p} missing from ${JSON.stringify(all)}`);
  }
});

test('every route requires authentication (pages redirect to the login, the API answers 401)', async () => {
  for (const r of await routes()) {
    if (r.role === 'public') continue;
    const body = r.method === 'GET' ? undefined : '{}';
    const headers = body ? { 'content-type': 'application/json' } : {};
    const res = await request(ctx.gw.base, { method: r.method, path: r.path, headers, body });
    const what = `${r.method} ${r.path}`;
    assertSecurityHeaders(res, what);
    if (r.pattern.startsWith('/api/')) {
      assert.equal(res.status, 401, `${what}: ${res.status} ${res.text}`);
      assert.equal(res.json().error.type, 'authentication_error', what);
    } else if (r.method === 'GET') {
      assert.equal(res.status, 303, what);
      assert.match(res.headers.location, /^\/admin\/login\?next=/, what);
    } else {
      assert.equal(res.status, 401, `${what}: ${res.status}`);
    }
    // A bogus bearer token is refused too.
    const bad = await request(ctx.gw.base, {
      method: r.method, path: r.path, headers: { ...headers, authorization: 'Bearer adm-' + 'A'.repeat(43) }, body,
    });
    assert.equal(bad.status, 401, `${what} with a bad token: ${bad.status}`);
  }
});

test('the viewer role reads logs and analytics but reaches no Keys page, key API or change', async () => {
  const v = await viewerClient();
  const home = await v.get('/admin/');
  assert.equal(home.status, 303);
  assert.equal(home.headers.location, '/admin/logs');
  const logs = await v.get('/admin/logs');
  assert.equal(logs.status, 200);
  assert.doesNotMatch(logs.text, /href="\/admin\/keys"/, 'no Keys link for a viewer');
  for (const r of await routes()) {
    if (r.role === 'public' || r.pattern === '/logout') continue;
    const res = r.method === 'GET'
      ? await v.get(r.path)
      : await v.api(r.method, r.path, {});
    const what = `viewer ${r.method} ${r.path}`;
    if (r.role === 'admin') assert.equal(res.status, 403, `${what}: ${res.status}`);
    else if (res.status === 303) assert.doesNotMatch(res.headers.location, /login/, what);
    // A placeholder filled with "x" may name nothing (a log id, a session): 404, not refused.
    else if (!(r.pattern.includes('{') && res.status === 404)) assert.equal(res.status, 200, `${what}: ${res.status}`);
    assertSecurityHeaders(res, what);
  }
});

test('login: wrong password, cookie flags, safe next, logout ends the session', async () => {
  const c = new AdminClient(ctx.gw.base);
  const bad = await c.login('root', 'wrong-password-1');
  assert.equal(bad.status, 401);
  assert.match(bad.text, /Wrong user name or password/);
  assert.ok(!c.cookies.has('alephant_admin'));
  const unknown = await c.login('nobody', 'whatever-password');
  assert.equal(unknown.status, 401);

  const page = await c.get('/admin/login');
  const token = /name="csrf" value="([^"]+)"/.exec(page.text)[1];
  const res = await c.req('POST', '/admin/login', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ user: 'root', password: ROOT_PW, csrf: token, next: '//evil.example/x' }).toString(),
  });
  assert.equal(res.status, 303);
  assert.equal(res.headers.location, '/admin/', 'an off-site next is ignored');
  const cookie = [].concat(res.headers['set-cookie']).find((s) => s.startsWith('alephant_admin='));
  assert.ok(cookie, JSON.stringify(res.headers['set-cookie']));
  assert.match(cookie, /; HttpOnly/);
  assert.match(cookie, /; SameSite=Strict/);
  assert.match(cookie, /; Path=\/admin/);
  assert.doesNotMatch(cookie, /Secure/, 'plain http: no Secure flag');
  // The cookie is not what the database stores (only its SHA-256 is).
  const sid = cookie.split(';')[0].split('=')[1];
  const dump = await run('sqlite3', [`${ctx.gw.stateDir}/alephant.db`, 'SELECT id_hash FROM admin_sessions']);
  assert.ok(!dump.stdout.includes(sid), 'the session id itself is not stored');

  await c.refreshCsrf();
  assert.equal((await c.get('/admin/keys')).status, 200);
  const next = await new AdminClient(ctx.gw.base).login('root', ROOT_PW, { next: '/vks' });
  assert.equal(next.headers.location, '/admin/vks');

  // logout needs the CSRF token, then the old cookie is worthless
  assert.equal((await c.post('/admin/logout', {}, { csrf: null })).status, 403);
  const out = await c.post('/admin/logout');
  assert.equal(out.status, 303);
  const stale = await request(ctx.gw.base, { path: '/admin/keys', headers: { cookie: `alephant_admin=${sid}` } });
  assert.equal(stale.status, 303);
  assert.match(stale.headers.location, /\/admin\/login/);
});

test('an idle session expires', async () => {
  const c = await rootClient();
  assert.equal((await c.get('/admin/keys')).status, 200);
  // Age every session past the idle timeout (30 min by default) instead of waiting.
  const r = await run('sqlite3', [`${ctx.gw.stateDir}/alephant.db`,
    'UPDATE admin_sessions SET last_seen_at = last_seen_at - 3600000']);
  assert.equal(r.code, 0, r.stderr);
  const res = await c.get('/admin/keys');
  assert.equal(res.status, 303);
  assert.match(res.headers.location, /\/admin\/login/);
});

test('login is rate-limited per user name, in the database (the right password is refused too)', async () => {
  const c = new AdminClient(ctx.gw.base);
  for (let i = 0; i < 3; i++) assert.equal((await c.login('victim', `bad-password-${i}`)).status, 401);
  const limited = await c.login('victim', 'victim-password-1');
  assert.equal(limited.status, 429, limited.text);
  assert.match(limited.text, /Too many failed logins/);
  assert.ok(!c.cookies.has('alephant_admin'));
  // another user from the same address is not affected (the per-address limit is higher)
  assert.equal((await new AdminClient(ctx.gw.base).login('root', ROOT_PW)).status, 303);
});

test('CSRF: state changes without the session token are refused', async () => {
  const c = await rootClient();
  const none = await c.post('/admin/keys', { name: 'csrf-none', provider: 'mock' }, { csrf: null });
  assert.equal(none.status, 403);
  assert.match(none.text, /security token/);
  const wrong = await c.post('/admin/keys', { name: 'csrf-wrong', provider: 'mock' }, { csrf: 'x'.repeat(43) });
  assert.equal(wrong.status, 403);
  const api = await c.api('POST', '/admin/api/provider-keys', { name: 'csrf-api', provider: 'mock' }, { csrf: false });
  assert.equal(api.status, 403);
  assert.equal(api.json().error.code, 'csrf_failed');
  const list = await c.api('GET', '/admin/api/provider-keys');
  const names = list.json().data.map((k) => k.name);
  for (const n of ['csrf-none', 'csrf-wrong', 'csrf-api']) assert.ok(!names.includes(n), `${n} was created`);
  // with the header it works
  const ok = await c.api('POST', '/admin/api/provider-keys', { name: 'csrf-ok', provider: 'mock' });
  assert.equal(ok.status, 201, ok.text);
  // the login form needs its own double-submit token
  const anon = new AdminClient(ctx.gw.base);
  const login = await anon.req('POST', '/admin/login', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ user: 'root', password: ROOT_PW, csrf: 'y'.repeat(43) }).toString(),
  });
  assert.equal(login.status, 403);
});

test('security headers on every kind of response, static assets included', async () => {
  const c = await rootClient();
  const cases = [
    ['login page', await request(ctx.gw.base, { path: '/admin/login' })],
    ['redirect', await request(ctx.gw.base, { path: '/admin' })],
    ['not found', await request(ctx.gw.base, { path: '/admin/nope' })],
    ['path tricks', await request(ctx.gw.base, { path: '/admin/keys/../keys' })],
    ['page', await c.get('/admin/vks')],
    ['api', await c.get('/admin/api/provider-keys')],
    ['method not allowed', await c.req('PATCH', '/admin/keys')],
    ['css', await request(ctx.gw.base, { path: '/admin/static/admin.css' })],
    ['js', await request(ctx.gw.base, { path: '/admin/static/admin.js' })],
  ];
  for (const [what, res] of cases) assertSecurityHeaders(res, what);
  assert.equal(cases[2][1].status, 404);
  assert.equal(cases[6][1].status, 405);
  assert.equal(cases[7][1].status, 200);
  assert.match(cases[7][1].headers['content-type'], /text\/css/);
  // /administrator is not the admin
  const other = await request(ctx.gw.base, { path: '/administrator' });
  assert.notEqual(other.headers['content-security-policy'], cases[0][1].headers['content-security-policy']);
  // no inline scripts or styles in the pages
  const html = cases[4][1].text;
  assert.doesNotMatch(html, /<script>(?!<)|<script(?![^>]*\ssrc=)[^>]*>/);
  assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/i);
});

test('admin API tokens: bearer auth without CSRF, viewer tokens read only, revoked tokens refused, stored hashed', async () => {
  const admin = await createAdminToken(ctx.gw, 'automation');
  const viewer = await createAdminToken(ctx.gw, 'dashboards', 'viewer');
  const list = await apiWithToken(ctx.gw.base, admin, 'GET', '/admin/api/provider-keys');
  assert.equal(list.status, 200, list.text);
  assertSecurityHeaders(list, 'api with token');
  const add = await apiWithToken(ctx.gw.base, admin, 'POST', '/admin/api/provider-keys', { name: 'by-token', provider: 'mock' });
  assert.equal(add.status, 201, add.text);
  assert.equal(add.json().name, 'by-token');

  const me = await apiWithToken(ctx.gw.base, viewer, 'GET', '/admin/api/me');
  assert.equal(me.status, 200);
  assert.equal(me.json().role, 'viewer');
  assert.equal((await apiWithToken(ctx.gw.base, viewer, 'GET', '/admin/api/provider-keys')).status, 403);
  const vadd = await apiWithToken(ctx.gw.base, viewer, 'POST', '/admin/api/provider-keys', { name: 'nope', provider: 'mock' });
  assert.equal(vadd.status, 403);
  assert.equal(vadd.json().error.type, 'permission_error');

  const stored = JSON.parse(await ctx.gw.ctl(['admin', 'token', 'list', '--json']));
  assert.ok(!JSON.stringify(stored).includes(admin), 'the token is not listed');
  const db = await run('sqlite3', [`${ctx.gw.stateDir}/alephant.db`, 'SELECT * FROM admin_api_tokens']);
  assert.ok(!db.stdout.includes(admin.slice(4)), 'the token is not stored');

  await ctx.gw.ctl(['admin', 'token', 'revoke', 'automation']);
  const revoked = await apiWithToken(ctx.gw.base, admin, 'GET', '/admin/api/provider-keys');
  assert.equal(revoked.status, 401);
  assert.equal(revoked.json().error.code, 'invalid_api_token');
});

test('Keys page: the secret is write-only (masked suffix), rotate, delete refused while in use', async () => {
  const c = await rootClient();
  const secret = 'sk-secret-value-ABCD1234';
  const add = await c.post('/admin/keys', {
    name: 'page-key', provider: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1', secret,
  });
  assert.equal(add.status, 303, add.text);
  const page = await c.get(add.headers.location.replace(/^/, ''));
  assert.equal(page.status, 200);
  assert.match(page.text, /Provider key page-key added/);
  assert.match(page.text, /…1234/);
  assert.ok(!page.text.includes(secret) && !page.text.includes('ABCD1234'), 'the secret is never shown');
  const api = await c.api('GET', '/admin/api/provider-keys');
  assert.ok(!api.text.includes(secret));

  const rot = await c.post('/admin/keys/page-key/rotate', { secret: 'sk-new-secret-WXYZ9876' });
  assert.equal(rot.status, 303);
  assert.match((await c.get('/admin/keys')).text, /…9876/);

  await ctx.gw.createVk({ name: 'uses-page-key', providerKey: 'page-key' });
  const del = await c.post('/admin/keys/page-key/delete');
  assert.equal(del.status, 409);
  assert.match(del.text, /is used by 1 virtual key/);
  const apiDel = await c.api('DELETE', '/admin/api/provider-keys/page-key');
  assert.equal(apiDel.status, 409);
  assert.equal(apiDel.json().error.code, 'in_use');
  assert.match(apiDel.json().error.message, /used by 1 virtual key/);

  const unused = await c.post('/admin/keys', { name: 'unused-key', provider: 'mock' });
  assert.equal(unused.status, 303);
  const gone = await c.post('/admin/keys/unused-key/delete');
  assert.equal(gone.status, 303);
  assert.ok(!(await c.api('GET', '/admin/api/provider-keys')).json().data.some((k) => k.name === 'unused-key'));
});

test('a virtual key made on the page: token shown once with a copy button, works at the gateway, last use and spend listed, revoke', async () => {
  const c = await rootClient();
  const res = await c.post('/admin/vks', {
    name: 'checkout-svc', provider_key: 'mockpk', models: 'gpt-4o-mini', agent: 'checkout',
    department: 'payments', budget_usd: '10', budget_period: 'monthly', rpm: '100', tpm: '',
  });
  assert.equal(res.status, 201, res.text);
  const token = /<output id="new-token">(vk-[A-Za-z0-9_-]{43})<\/output>/.exec(res.text)?.[1];
  assert.ok(token, 'the token is on the page once');
  assert.match(res.text, /data-copy="new-token"/);
  const again = await c.get('/admin/vks');
  assert.ok(!again.text.includes(token), 'the token is not shown again');
  assert.ok(!(await c.api('GET', '/admin/api/virtual-keys')).text.includes(token));
  const row = () => again.text.split('\n').find((l) => l.includes('<td>checkout-svc</td>'));
  assert.match(row(), /gpt-4o-mini/);
  assert.match(row(), /\$0\.00 of \$10\.00 \(monthly\)/);
  assert.match(row(), /<td>never<\/td>/);

  const chat = await postJson(ctx.gw.base, '/v1/chat/completions', chatBody(), { key: token });
  assert.equal(chat.status, 200, chat.text);
  await ctx.gw.waitForLog((r) => r.virtual_key === 'checkout-svc');
  const used = await pollUntil(async () => {
    const p = await c.get('/admin/vks');
    const line = p.text.split('\n').find((l) => l.includes('<td>checkout-svc</td>'));
    return line && /<td>\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/td><td>/.test(line) ? line : null;
  }, 10_000, 'last used time on the page');
  assert.ok(used);

  const rev = await c.post('/admin/vks/checkout-svc/revoke');
  assert.equal(rev.status, 303);
  const after = await c.get('/admin/vks');
  assert.match(after.text.split('\n').find((l) => l.includes('<td>checkout-svc</td>')), /<td>revoked<\/td>/);
  const refused = await postJson(ctx.gw.base, '/v1/chat/completions', chatBody(), { key: token });
  assert.equal(refused.status, 401);
});

test('virtual keys, targets, budgets, rate limits and policies through the API', async () => {
  const tok = await createAdminToken(ctx.gw, 'api-vks');
  const call = (m, p, b) => apiWithToken(ctx.gw.base, tok, m, p, b);
  const made = await call('POST', '/admin/api/virtual-keys', {
    name: 'api-svc', provider_key: 'mockpk', models: ['gpt-4o-mini', 'gpt-4o'], agent: 'api-agent',
    department: 'api-dept', expires: '2099-01-01', budget_usd: 5, rpm: 60,
  });
  assert.equal(made.status, 201, made.text);
  const vk = made.json();
  assert.match(vk.token, /^vk-[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(vk.models, ['gpt-4o-mini', 'gpt-4o']);
  assert.equal(vk.agent, 'api-agent');
  const listed = (await call('GET', '/admin/api/virtual-keys')).json().data.find((k) => k.name === 'api-svc');
  assert.equal(listed.token, undefined);
  assert.equal(listed.prefix, vk.token.slice(0, 11));

  const budgets = (await call('GET', '/admin/api/budgets')).json().data;
  assert.ok(budgets.some((b) => b.scope === 'virtual_key' && b.name === 'api-svc' && b.hard_limit_nanos === 5e9));
  const limits = (await call('GET', '/admin/api/rate-limits')).json().data;
  assert.ok(limits.some((r) => r.name === 'api-svc' && r.max_requests === 60));

  const dept = await call('PUT', '/admin/api/budgets/department/api-dept', { budget_usd: '100', budget_period: 'weekly', reset_day: 1 });
  assert.equal(dept.status, 200, dept.text);
  assert.equal(dept.json().period, 'weekly');
  const badBudget = await call('PUT', '/admin/api/budgets/agent/api-agent', { budget_usd: 'lots' });
  assert.equal(badBudget.status, 400);
  assert.equal(badBudget.json().error.code, 'invalid_request');

  const tgt = await call('PUT', '/admin/api/virtual-keys/api-svc/targets/by-token', { priority: 1, weight: 2, model_map: { 'gpt-4o': 'gpt-4o-2024' } });
  assert.equal(tgt.status, 200, tgt.text);
  assert.equal(tgt.json().data.length, 2);
  assert.deepEqual(tgt.json().data[1].model_map, { 'gpt-4o': 'gpt-4o-2024' });
  // alephantctl sees the same data (one implementation)
  const ctlTargets = await ctx.gw.targets('api-svc');
  assert.equal(ctlTargets[1].weight, 2);
  assert.equal((await call('DELETE', '/admin/api/virtual-keys/api-svc/targets/by-token')).status, 200);

  assert.equal((await call('GET', '/admin/api/agents')).json().data.find((a) => a.name === 'api-agent').department, 'api-dept');
  assert.ok((await call('GET', '/admin/api/departments')).json().data.some((d) => d.name === 'api-dept'));

  const pol = await call('POST', '/admin/api/policies', { name: 'no-o1', kind: 'model_deny', config: { models: ['o1*'] }, scope: 'vk:api-svc' });
  assert.equal(pol.status, 201, pol.text);
  const badKind = await call('POST', '/admin/api/policies', { name: 'x', kind: 'nonsense', config: {} });
  assert.equal(badKind.status, 400);
  const pols = JSON.parse(await ctx.gw.ctl(['policy', 'list', '--json']));
  assert.ok(pols.some((p) => p.name === 'no-o1' && p.scope_name === 'api-svc'));
  assert.equal((await call('DELETE', '/admin/api/policies/no-o1')).status, 200);
  assert.equal((await call('DELETE', '/admin/api/policies/no-o1')).status, 404);

  const dup = await call('POST', '/admin/api/virtual-keys', { name: 'api-svc', provider_key: 'mockpk' });
  assert.equal(dup.status, 409);
  const rev = await call('POST', '/admin/api/virtual-keys/api-svc/revoke');
  assert.equal(rev.status, 200);
  assert.equal(rev.json().status, 'revoked');
  const bodyless = await call('POST', '/admin/api/virtual-keys');
  assert.equal(bodyless.status, 400);
});

test('hostile names and models are HTML-escaped everywhere they are shown', async () => {
  const c = await rootClient();
  const made = await c.api('POST', '/admin/api/virtual-keys', {
    name: 'xss-key', provider_key: 'mockpk', models: [XSS_SCRIPT, XSS_IMG], agent: 'xss-agent',
  });
  assert.equal(made.status, 201, made.text);
  const page = await c.get('/admin/vks');
  assert.equal(page.status, 200);
  assert.ok(!page.text.includes(XSS_SCRIPT), 'no raw <script>');
  assert.ok(!page.text.includes('<img src=x'), 'no raw <img>');
  assert.ok(page.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(page.text.includes('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;'));

  // a refused name is echoed back into the form, escaped
  for (const name of [XSS_SCRIPT, XSS_IMG]) {
    const res = await c.post('/admin/keys', { name, provider: 'mock' });
    assert.equal(res.status, 400);
    assert.ok(!res.text.includes(name), `raw ${name} in the page`);
    assert.match(res.text, /invalid provider key name/);
    const vkres = await c.post('/admin/vks', { name, provider_key: 'mockpk', models: XSS_IMG });
    assert.equal(vkres.status, 400);
    assert.ok(!vkres.text.includes(name) && !vkres.text.includes('<img src=x'));
  }
  // query parameters shown on the page are escaped too
  const q = await c.get(`/admin/keys?done=added&name=${encodeURIComponent(XSS_SCRIPT)}`);
  assert.ok(!q.text.includes(XSS_SCRIPT));
  assert.ok(q.text.includes('Provider key &lt;script&gt;'));
});

test('plain CGI: one request per process, Secure cookies over HTTPS', async () => {
  const env = {
    ...ctx.gw.env, GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'GET', REQUEST_URI: '/admin/login',
    SCRIPT_NAME: '/admin', REMOTE_ADDR: '127.0.0.1', HTTPS: 'on', SERVER_PROTOCOL: 'HTTP/1.1',
  };
  const r = await run(ADMIN_BIN, [], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Status: 200\r\n/);
  assert.match(r.stdout, /\r\nSet-Cookie: alephant_admin_login=[A-Za-z0-9_-]+; Path=\/admin; HttpOnly; SameSite=Strict; Secure/);
  assert.match(r.stdout, /\r\nX-Frame-Options: DENY\r\n/);
  const keys = await run(ADMIN_BIN, [], { env: { ...env, REQUEST_URI: '/admin/keys', HTTPS: '' } });
  assert.match(keys.stdout, /^Status: 303\r\n/);
});

test('alephantctl admin add refuses weak passwords, duplicates and unknown roles', async () => {
  const short = await ctx.gw.ctlResult(['admin', 'add', '--user', 'weak', '--password-stdin'], { input: 'short\n' });
  assert.notEqual(short.code, 0);
  assert.match(short.stderr, /at least 10 characters/);
  const dup = await ctx.gw.ctlResult(['admin', 'add', '--user', 'root', '--password-stdin'], { input: 'another-password\n' });
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, /already exists/);
  const role = await ctx.gw.ctlResult(['admin', 'add', '--user', 'r', '--password-stdin', '--role', 'god'], { input: 'another-password\n' });
  assert.equal(role.code, 2);
  const users = JSON.parse(await ctx.gw.ctl(['admin', 'list', '--json']));
  assert.deepEqual(users.map((u) => [u.name, u.role]).sort(), [['root', 'admin'], ['victim', 'admin'], ['watcher', 'viewer']]);
});

test('login is rate-limited per client address across user names', async () => {
  const gw = await startGateway({
    processes: 1, threads: 2,
    env: { ALEPHANT_ADMIN_LOGIN_MAX_FAILURES: '100', ALEPHANT_ADMIN_LOGIN_MAX_FAILURES_IP: '4' },
  });
  try {
    await addAdminUser(gw, 'root', ROOT_PW);
    const c = new AdminClient(gw.base);
    for (const user of ['a1', 'a2', 'a3', 'root']) assert.equal((await c.login(user, 'wrong-password-x')).status, 401);
    const limited = await c.login('root', ROOT_PW);
    assert.equal(limited.status, 429);
    assert.ok(!c.cookies.has('alephant_admin'));
  } catch (e) {
    gw.markFailed();
    throw e;
  } finally {
    await gw.stop();
  }
});
