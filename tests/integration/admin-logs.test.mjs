// Admin Logs, Sessions and Analytics: requests sent through the gateway (properties, sessions,
// a stream, an error, an omitted body) are found in the Logs page and API with each filter,
// paged with the cursor, opened in full, grouped into sessions and counted in Analytics and its
// CSV; client-controlled text (prompts, properties, session names, headers) is always escaped.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { useGateway } from './lib/suite.mjs';
import { request } from './lib/http.mjs';
import { MOCK_STREAM_PIECES } from './lib/mock-upstream.mjs';

const XSS_SCRIPT = '<script>alert(1)</script>';
const XSS_IMG = '"><img src=x onerror=alert(1)>';
const FORMULA = '=HYPERLINK("http://x.invalid","y")';
const RUN = randomUUID().slice(0, 8); // keeps property values unique to this run
let VK_A, VK_B, TOKEN;
const ids = {}; // name → log request id (alephant-id)

const ctx = useGateway({
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'up-logs', provider: 'openai-compatible', baseUrl: mock.baseUrl, secret });
    VK_A = await gw.createVk({ name: 'logs-a', providerKey: 'up-logs', agent: 'bot', department: 'sales' });
    VK_B = await gw.createVk({ name: 'logs-b', providerKey: 'up-logs' });
    TOKEN = (await gw.ctl(['admin', 'token', 'create', '--role', 'viewer', '--name', 'logs-viewer'])).trim();
    assert.match(TOKEN, /^adm-/);

    const send = async (name, key, { headers = {}, body } = {}) => {
      const res = await request(gw.base, {
        method: 'POST', path: '/v1/chat/completions',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
        body: body ?? JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hello ${name}` }] }),
      });
      ids[name] = res.headers['alephant-id'];
      assert.ok(ids[name], `no alephant-id for ${name}`);
      return res;
    };
    // Sequential, so log ids follow this order.
    await send('plan', VK_A, { headers: { 'alephant-session-id': `s-${RUN}`, 'alephant-session-path': '/plan',
      'alephant-session-name': XSS_SCRIPT, 'alephant-property-env': `prod-${RUN}`, 'x-custom-trace': 'trace-1' } });
    await send('step', VK_A, { headers: { 'alephant-session-id': `s-${RUN}`, 'alephant-session-path': '/plan/step',
      'alephant-property-env': `dev-${RUN}` } });
    const st = await send('stream', VK_B, { headers: { 'alephant-property-env': `prod-${RUN}` },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'stream please' }] }) });
    assert.equal(st.status, 200);
    const bad = await send('bad', VK_A, { body: '{"model": ' });
    assert.equal(bad.status, 400);
    await send('omit', VK_B, { headers: { 'alephant-omit-request': 'true' } });
    await send('xss', VK_B, {
      headers: { 'alephant-property-env': XSS_IMG, 'alephant-property-sheet': FORMULA, 'x-echo': XSS_SCRIPT },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${XSS_SCRIPT} and ${XSS_IMG}` }] }),
    });
    // The response cache: the same request twice, a miss then a hit.
    const cached = JSON.stringify({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: `cache me ${RUN}` }] });
    const on = { 'alephant-cache-enabled': 'true', 'alephant-property-env': `cache-${RUN}` };
    assert.equal((await send('miss', VK_B, { headers: on, body: cached })).headers['alephant-cache'], 'MISS');
    assert.equal((await send('hit', VK_B, { headers: on, body: cached })).headers['alephant-cache'], 'HIT');
    await gw.waitForLogs((r) => Object.values(ids).includes(r.request_id), { count: Object.keys(ids).length });
  },
});

function admin(path, { token = TOKEN } = {}) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  return request(ctx.gw.base, { path: `/admin${path}`, headers });
}

async function apiJson(path) {
  const res = await admin(path);
  assert.equal(res.status, 200, `${path}: ${res.text.slice(0, 500)}`);
  return res.json();
}

/** Request ids of the rows a log query returns (all pages). */
async function found(query) {
  const sep = query ? '&' : '';
  const out = [];
  let cursor = null;
  for (let page = 0; page < 50; page++) {
    const r = await apiJson(`/api/logs?${query}${sep}limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    out.push(...r.rows.map((x) => x.request_id));
    if (r.next_cursor === null) return out;
    cursor = r.next_cursor;
  }
  throw new Error('too many pages');
}

function names(requestIds) {
  const byId = Object.fromEntries(Object.entries(ids).map(([n, id]) => [id, n]));
  return requestIds.map((id) => byId[id]).filter(Boolean);
}

ctx.test('the API needs a token, and a viewer token reads the logs', async () => {
  const res = await admin('/api/logs', { token: null });
  assert.equal(res.status, 401);
  const all = await apiJson('/api/logs?limit=200');
  assert.deepEqual(names(all.rows.map((r) => r.request_id)), ['hit', 'miss', 'xss', 'omit', 'bad', 'stream', 'step', 'plan']);
  for (const r of all.rows) {
    assert.equal(r.request_body, undefined, 'the list carries no bodies');
    assert.equal(typeof r.id, 'number');
  }
});

ctx.test('every filter of the log search', async () => {
  const q = async (query) => names(await found(query));
  assert.deepEqual(await q('virtual_key=logs-b'), ['hit', 'miss', 'xss', 'omit', 'stream']);
  assert.deepEqual(await q('virtual_key=no-such-key'), []);
  assert.deepEqual(await q('agent=bot'), ['bad', 'step', 'plan']);
  assert.deepEqual(await q('department=sales&virtual_key=logs-a'), ['bad', 'step', 'plan']);
  assert.deepEqual(await q('model=gpt-4o-mini&virtual_key=logs-a'), ['step', 'plan']); // the bad body named no model
  const all = await apiJson('/api/logs?limit=200');
  const provider = all.rows.find((r) => r.request_id === ids.plan).provider;
  assert.ok(provider);
  const withProvider = names(all.rows.filter((r) => r.provider === provider).map((r) => r.request_id));
  assert.ok(['xss', 'omit', 'stream', 'step', 'plan'].every((n) => withProvider.includes(n)));
  assert.deepEqual(await q(`provider=${encodeURIComponent(provider)}`), withProvider);
  assert.deepEqual(await q('provider=no-such-provider'), []);
  assert.deepEqual(await q('status=400'), ['bad']);
  assert.deepEqual(await q('status=4xx'), ['bad']);
  assert.deepEqual(await q('status=error'), ['bad']);
  assert.deepEqual(await q('status=ok'), ['hit', 'miss', 'xss', 'omit', 'stream', 'step', 'plan']);
  assert.deepEqual(await q(`session_id=s-${RUN}`), ['step', 'plan']);
  assert.deepEqual(await q(`property=env&value=prod-${RUN}`), ['stream', 'plan']);
  assert.deepEqual(await q(`property=env&value=${encodeURIComponent(XSS_IMG)}`), ['xss']);
  assert.deepEqual(await q('property=sheet'), ['xss']);
  assert.deepEqual(await q('cache=MISS'), ['miss']);
  assert.deepEqual(await q('cache=hit'), ['hit']);
  assert.deepEqual(await q('cache=HIT&virtual_key=logs-a'), []);
  const plan = all.rows.find((r) => r.request_id === ids.plan);
  const step = all.rows.find((r) => r.request_id === ids.step);
  assert.deepEqual(await q(`from=${plan.created_at}&to=${step.created_at + 1}`), ['step', 'plan']);
  for (const bad of ['status=abc', 'cache=maybe', 'from=yesterday', 'limit=0', 'value=x', 'cursor=-1']) {
    const res = await admin(`/api/logs?${bad}`);
    assert.equal(res.status, 400, bad);
    assert.equal(res.json().error.code, 'invalid_request');
  }
});

ctx.test('keyset pages: every row once, newest first', async () => {
  const seen = [];
  let cursor = null;
  for (;;) {
    const r = await apiJson(`/api/logs?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    assert.ok(r.rows.length <= 2);
    seen.push(...r.rows.map((x) => x.id));
    if (r.next_cursor === null) break;
    assert.equal(r.next_cursor, r.rows.at(-1).id);
    cursor = r.next_cursor;
  }
  assert.equal(new Set(seen).size, seen.length, 'no row twice');
  assert.deepEqual(seen, [...seen].sort((a, b) => b - a), 'newest first');
  assert.equal(seen.length, 8);
  // The page: a GET form, and an Older link carrying the filters and the cursor.
  const page = await admin('/logs?limit=2&virtual_key=logs-a');
  assert.equal(page.status, 200);
  assert.match(page.text, /<form class="filters" method="get"/);
  const m = page.text.match(/href="\/admin\/logs\?([^"]*cursor=(\d+))"/);
  assert.ok(m, 'an Older link');
  assert.match(m[1], /virtual_key=logs-a/);
  const older = await admin(`/logs?${m[1].replaceAll('&amp;', '&')}`);
  assert.equal(older.status, 200);
  assert.ok(older.text.includes(`/admin/logs/`));
});

ctx.test('detail: headers without credentials, bodies, stream reassembly, omitted request', async () => {
  const all = await apiJson('/api/logs?limit=200');
  const idOf = (n) => all.rows.find((r) => r.request_id === ids[n]).id;
  const planRes = await admin(`/api/logs/${idOf('plan')}`);
  assert.equal(planRes.status, 200);
  const plan = planRes.json();
  assert.equal(plan.request_headers['x-custom-trace'], 'trace-1');
  assert.equal(plan.request_headers.authorization, undefined);
  assert.ok(!planRes.text.includes(VK_A), 'the virtual key appears nowhere in the detail');
  assert.equal(plan.properties.env, `prod-${RUN}`);
  assert.equal(plan.virtual_key, 'logs-a');
  assert.equal(plan.agent, 'bot');
  assert.ok(plan.request_body.includes('hello plan'));
  assert.ok(Array.isArray(plan.attempts) && plan.attempts.length === 1);

  const stream = await apiJson(`/api/logs/${idOf('stream')}`);
  assert.equal(stream.stream, true);
  assert.equal(stream.response_message.content, MOCK_STREAM_PIECES.join(''));
  const streamPage = await admin(`/logs/${idOf('stream')}`);
  assert.ok(streamPage.text.includes('Reassembled message'));
  assert.ok(streamPage.text.includes(MOCK_STREAM_PIECES.join('')));
  assert.ok(streamPage.text.includes('Raw events'));

  const omit = await apiJson(`/api/logs/${idOf('omit')}`);
  assert.equal(omit.request_omitted, true);
  assert.equal(omit.request_body, null);
  assert.equal(omit.request_headers, null);
  const omitPage = await admin(`/logs/${idOf('omit')}`);
  assert.ok(omitPage.text.includes('Not stored: the client sent alephant-omit-request'));

  const hit = await apiJson(`/api/logs/${idOf('hit')}`);
  assert.equal(hit.cache_status, 'HIT');
  assert.equal(hit.cache_kind, 'exact');
  assert.equal(hit.cache_source_request_id, ids.miss);
  assert.ok(hit.cache_saved_nanos > 0);
  assert.ok((await admin(`/logs/${idOf('hit')}`)).text.includes('cache_source_request_id'));

  assert.equal((await admin('/api/logs/999999999')).status, 404);
  assert.equal((await admin('/api/logs/abc')).status, 404);
  assert.equal((await admin('/logs/999999999')).status, 404);
});

ctx.test('sessions: list, path tree and requests', async () => {
  const list = await apiJson('/api/sessions');
  const s = list.sessions.find((x) => x.session_id === `s-${RUN}`);
  assert.ok(s, JSON.stringify(list).slice(0, 500));
  assert.equal(s.requests, 2);
  assert.equal(s.name, XSS_SCRIPT);
  const one = await apiJson(`/api/sessions/s-${RUN}`);
  assert.equal(one.session.requests, 2);
  const plan = one.tree.children.find((c) => c.name === 'plan');
  assert.equal(plan.requests, 1);
  assert.equal(plan.total_requests, 2);
  assert.equal(plan.children[0].path, '/plan/step');
  assert.deepEqual(names(one.requests.map((r) => r.request_id)), ['step', 'plan']);
  const page = await admin(`/sessions/s-${RUN}`);
  assert.equal(page.status, 200);
  assert.ok(page.text.includes('<ul class="tree">'));
  assert.equal((await admin('/api/sessions/no-such-session')).status, 404);
});

ctx.test('analytics: counted per bucket and by property, CSV with the formula guard', async () => {
  const a = await apiJson('/api/analytics?range=24h&by=property&property=env');
  const row = (k) => a.breakdown.rows.find((r) => r.key === k);
  assert.equal(a.series.bucket, 'hour');
  assert.equal(a.series.totals.requests, 8);
  assert.equal(a.series.totals.errors, 1);
  assert.equal(a.series.series.reduce((n, p) => n + p.requests, 0), 8);
  assert.equal(a.series.totals.cache_lookups, 2);
  assert.equal(a.series.totals.cache_hits, 1);
  assert.equal(a.series.totals.cache_hit_rate, 0.5);
  assert.ok(a.series.totals.cache_saved_nanos > 0, 'the hit saved the priced call');
  assert.equal(row(`cache-${RUN}`).requests, 2);
  assert.equal(row(`cache-${RUN}`).cache_hit_rate, 0.5);
  assert.equal(row(`prod-${RUN}`).requests, 2);
  assert.equal(row(`dev-${RUN}`).requests, 1);
  assert.equal(row(XSS_IMG).requests, 1);
  assert.equal(a.breakdown.rows.find((r) => r.key === null).requests, 2);
  assert.equal(typeof row(`prod-${RUN}`).latency_p50_ms, 'number');

  const byKey = await apiJson('/api/analytics?range=24h&by=virtual_key');
  assert.equal(byKey.breakdown.rows.find((r) => r.key === 'logs-b').requests, 5);

  const csv = await admin('/api/analytics/breakdown.csv?range=24h&by=property&property=sheet');
  assert.equal(csv.status, 200);
  assert.match(csv.headers['content-type'], /^text\/csv/);
  assert.ok(csv.text.startsWith('property:sheet,requests,'));
  // The formula is quoted and neutralised with a leading apostrophe.
  assert.ok(csv.text.includes(`"'=HYPERLINK(""http://x.invalid"",""y"")",1,`), csv.text);
  const series = await admin('/analytics/series.csv?range=24h');
  assert.equal(series.status, 200);
  assert.ok(series.text.startsWith('bucket_start_utc,requests,'));
  const page = await admin('/analytics?range=24h&by=property&property=env');
  assert.equal(page.status, 200);
  assert.ok((page.text.match(/<svg /g) || []).length >= 6, 'server-rendered charts');
  assert.equal((await admin('/api/analytics?by=property')).status, 400);
});

ctx.test('client-controlled text is escaped on every page', async () => {
  const all = await apiJson('/api/logs?limit=200');
  const xssId = all.rows.find((r) => r.request_id === ids.xss).id;
  const planId = all.rows.find((r) => r.request_id === ids.plan).id;
  const pages = [
    '/logs', `/logs/${xssId}`, `/logs/${planId}`, '/sessions', `/sessions/s-${RUN}`,
    '/analytics?range=24h&by=property&property=env', `/logs?property=env&value=${encodeURIComponent(XSS_IMG)}`,
  ];
  for (const p of pages) {
    const res = await admin(p);
    assert.equal(res.status, 200, p);
    assert.match(res.headers['content-type'], /^text\/html/);
    assert.ok(!res.text.includes(XSS_SCRIPT), `${p} contains raw <script>`);
    assert.ok(!res.text.includes('<img src=x'), `${p} contains a raw <img>`);
    assert.ok(!res.text.includes('onerror=alert(1)>'), `${p} contains raw markup`);
  }
  const detail = (await admin(`/logs/${xssId}`)).text;
  assert.ok(detail.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the prompt is shown, escaped');
  assert.ok(detail.includes('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'), 'the property is shown, escaped');
  const list = (await admin('/logs')).text;
  assert.ok(list.includes('env=&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'));
  const sessions = (await admin('/sessions')).text;
  assert.ok(sessions.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the session name is shown, escaped');
});
