// Tracking headers: request ids, sessions, custom properties, privacy (omit) flags, country,
// referer, client IPs (with and without trusted proxies) and prompt templates. Each of these
// headers is gateway-only: the mock upstream must never receive one of them.

import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { useGateway } from './lib/suite.mjs';
import { startGateway, run } from './lib/gateway.mjs';
import { request, assertOpenAIError, UUID_RE } from './lib/http.mjs';
import { chatCompletion, sendJson, streamDefault, MOCK_USAGE, MOCK_STREAM_USAGE } from './lib/mock-upstream.mjs';

let VK;

const ctx = useGateway({
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'up-trk', provider: 'openai-compatible', baseUrl: mock.baseUrl, secret });
    VK = await gw.createVk({ name: 'trk-app', providerKey: 'up-trk' });
  },
});

// ---- helpers (kept here: lib/ is shared with other test files) ----

/** POST /v1/chat/completions with the key; body: object (JSON-encoded) or exact string. */
function chat(gw, key, { headers = {}, body, contentType = 'application/json' } = {}) {
  const b = body === undefined
    ? { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `tracking ${randomUUID()}` }] }
    : body;
  return request(gw.base, {
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${key}`, 'content-type': contentType, ...headers },
    body: typeof b === 'string' ? b : JSON.stringify(b),
  });
}

/** The row(s) of one request id, after the writer settled (a duplicate would be seen). */
async function rowOf(gw, id) {
  const rows = await gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1, `expected one log row for ${id}, got ${JSON.stringify(rows).slice(0, 2000)}`);
  return rows[0];
}

const TRACKING_NAMES = ['cf-ipcountry', 'x-forwarded-for', 'x-request-id'];

/** The upstream request carried no gateway-only tracking header. */
function assertNoGatewayHeaders(rec) {
  const names = [];
  for (let i = 0; i < rec.rawHeaders.length; i += 2) names.push(rec.rawHeaders[i].toLowerCase());
  for (const n of names) {
    assert.ok(!n.startsWith('alephant-'), `gateway-only header reached the upstream: ${n} (headers: ${names.join(', ')})`);
    assert.ok(!n.startsWith('x-alephant-'), `gateway-only header reached the upstream: ${n} (headers: ${names.join(', ')})`);
    assert.ok(!TRACKING_NAMES.includes(n), `${n} reached the upstream (headers: ${names.join(', ')})`);
  }
}

function assertAllClean(mock) {
  for (const rec of mock.requests) assertNoGatewayHeaders(rec);
}

/** The last request the upstream got, as JSON, after checking its headers. */
function upstreamJson(mock) {
  assert.ok(mock.requests.length >= 1, 'nothing reached the upstream');
  const rec = mock.requests[mock.requests.length - 1];
  assertNoGatewayHeaders(rec);
  return JSON.parse(rec.body.toString('utf8'));
}

async function ctlJson(gw, args) {
  const out = await gw.ctl(args);
  try { return JSON.parse(out); } catch { throw new Error(`alephantctl ${args.join(' ')} did not print JSON: ${out.slice(0, 1000)}`); }
}

/** Rows of `logs list --json` with extra filter arguments. */
async function logsFiltered(gw, extra) {
  const rows = await ctlJson(gw, ['logs', 'list', '--json', '--limit', '1000', ...extra]);
  assert.ok(Array.isArray(rows), `logs list ${extra.join(' ')} --json did not print an array`);
  return rows;
}

/** sqlite3 CLI on the raw database file, read-only; returns the output lines. */
async function sqlite(gw, sql) {
  const r = await run('sqlite3', ['-readonly', path.join(gw.stateDir, 'alephant.db'), sql]);
  assert.equal(r.code, 0, `sqlite3 failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/**
 * A second gateway instance for one test (other env, or stopped mid-test). fn(gw, vk) runs with it;
 * it is stopped afterwards unless fn stopped it (then fn gets gw.stop({ keep: true }) semantics and
 * the state dir is removed here on success).
 */
async function withOwnGateway({ env = {}, mock, secret }, fn) {
  const gw = await startGateway({ processes: 1, threads: 4, env });
  let ok = false;
  const state = { stopped: false };
  try {
    await gw.addProviderKey({ name: 'up-own', provider: 'openai-compatible', baseUrl: mock.baseUrl, secret });
    const vk = await gw.createVk({ name: 'own-app', providerKey: 'up-own' });
    await fn(gw, vk, async () => { await gw.stop({ keep: true }); state.stopped = true; });
    ok = true;
  } finally {
    if (!ok) gw.markFailed();
    if (!state.stopped) await gw.stop();
    else await gw.removeStateDir();
  }
}

// ---- x-request-id ----

ctx.test('x-request-id: UUID forms become the canonical log id; other values are client_request_id', async () => {
  for (const make of [(u) => u.toUpperCase(), (u) => `{${u}}`, (u) => `urn:uuid:${u.toUpperCase()}`, (u) => u.replace(/-/g, '')]) {
    const id = randomUUID();
    const res = await chat(ctx.gw, VK, { headers: { 'x-request-id': make(id) } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['alephant-id'], id, `alephant-id for x-request-id ${make(id)}`);
    const row = await rowOf(ctx.gw, id);
    assert.equal(row.request_id, id);
    assert.equal(row.client_request_id ?? null, null);
  }
  const given = `corr-${randomUUID().slice(0, 13)}-not-a-uuid`;
  const res = await chat(ctx.gw, VK, { headers: { 'x-request-id': given } });
  assert.equal(res.status, 200, res.text);
  const aid = res.headers['alephant-id'];
  assert.match(String(aid), UUID_RE);
  assert.equal(aid[14], '7', `a fresh id is a UUIDv7: ${aid}`);
  const rows = await ctx.gw.settledLogs((r) => r.client_request_id === given);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].request_id, aid);
  assert.equal(ctx.mock.requests.length, 5);
  assertAllClean(ctx.mock);
});

ctx.test('x-request-id: a reused UUID gives two rows under the same request_id, no error', async () => {
  const id = randomUUID();
  for (let i = 0; i < 2; i++) {
    const res = await chat(ctx.gw, VK, { headers: { 'x-request-id': id } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['alephant-id'], id);
  }
  const rows = await ctx.gw.waitForLogs((r) => r.request_id === id, { count: 2 });
  assert.equal(rows.length, 2);
  for (const r of rows) assert.equal(r.status, 200);
  assertAllClean(ctx.mock);
});

// ---- sessions ----

ctx.test('session headers are logged (path normalised) and summarised by sessions list', async () => {
  const sid = `sess-${randomUUID()}`;
  const sends = [
    { path: 'checkout/retry', want: '/checkout/retry' },
    { path: '//a//b/', want: '/a/b' },
    { path: '/checkout/retry', want: '/checkout/retry' },
  ];
  const ids = [];
  for (const s of sends) {
    const id = randomUUID();
    ids.push(id);
    const res = await chat(ctx.gw, VK, {
      headers: {
        'x-request-id': id,
        'alephant-session-id': sid,
        'alephant-session-path': s.path,
        'alephant-session-name': 'Checkout flow',
      },
    });
    assert.equal(res.status, 200, res.text);
  }
  const rows = [];
  for (const [i, id] of ids.entries()) {
    const row = await rowOf(ctx.gw, id);
    assert.equal(row.session_id, sid);
    assert.equal(row.session_path, sends[i].want, `session path sent as ${JSON.stringify(sends[i].path)}`);
    assert.equal(row.session_name, 'Checkout flow');
    rows.push(row);
  }

  const sessions = await ctlJson(ctx.gw, ['sessions', 'list', '--json']);
  assert.ok(Array.isArray(sessions), 'sessions list --json did not print an array');
  const s = sessions.find((x) => x.session_id === sid);
  assert.ok(s, `session ${sid} not listed: ${JSON.stringify(sessions).slice(0, 1000)}`);
  for (const k of ['session_id', 'name', 'requests', 'cost_nanos', 'prompt_tokens', 'completion_tokens', 'total_tokens',
    'first_at', 'last_at', 'duration_ms', 'paths']) {
    assert.ok(k in s, `session lacks ${k}: ${JSON.stringify(s)}`);
  }
  assert.equal(s.name, 'Checkout flow');
  assert.equal(s.requests, 3);
  assert.equal(s.prompt_tokens, 3 * MOCK_USAGE.prompt_tokens);
  assert.equal(s.completion_tokens, 3 * MOCK_USAGE.completion_tokens);
  assert.equal(s.total_tokens, 3 * MOCK_USAGE.total_tokens);
  const costs = rows.map((r) => r.cost_nanos);
  for (const c of costs) assert.equal(typeof c, 'number', `row cost_nanos ${c}`);
  assert.equal(s.cost_nanos, costs.reduce((a, b) => a + b, 0));
  assert.equal(typeof s.first_at, 'number');
  assert.equal(typeof s.last_at, 'number');
  assert.ok(s.first_at <= s.last_at, `first_at ${s.first_at} > last_at ${s.last_at}`);
  assert.equal(typeof s.duration_ms, 'number');
  assert.ok(s.duration_ms >= 0, `duration_ms ${s.duration_ms}`);
  assert.ok(Array.isArray(s.paths));
  const paths = [...s.paths].sort((a, b) => (a.path < b.path ? -1 : 1));
  assert.deepEqual(paths, [{ path: '/a/b', requests: 1 }, { path: '/checkout/retry', requests: 2 }]);
  assertAllClean(ctx.mock);
});

// ---- custom properties ----

ctx.test('alephant-property-*: stored lower-case, listed, filterable, one row each in request_properties', async () => {
  const tag = randomUUID();
  const idProd1 = randomUUID();
  const idProd2 = randomUUID();
  const idStaging = randomUUID();
  const idNone = randomUUID();
  const send = async (id, props) => {
    const res = await chat(ctx.gw, VK, { headers: { 'x-request-id': id, ...props } });
    assert.equal(res.status, 200, res.text);
  };
  await send(idProd1, { 'Alephant-Property-Environment': 'production', 'alephant-property-Run-Tag': tag });
  await send(idProd2, { 'alephant-property-environment': 'production' });
  await send(idStaging, { 'ALEPHANT-PROPERTY-ENVIRONMENT': 'staging' });
  await send(idNone, {});

  const row1 = await rowOf(ctx.gw, idProd1);
  assert.deepEqual(row1.properties, { environment: 'production', 'run-tag': tag });
  assert.deepEqual((await rowOf(ctx.gw, idProd2)).properties, { environment: 'production' });
  assert.deepEqual((await rowOf(ctx.gw, idStaging)).properties, { environment: 'staging' });
  assert.deepEqual((await rowOf(ctx.gw, idNone)).properties, {});

  const prod = await logsFiltered(ctx.gw, ['--property', 'environment=production']);
  const prodIds = prod.map((r) => r.request_id);
  assert.ok(prodIds.includes(idProd1) && prodIds.includes(idProd2), `--property environment=production misses rows: ${prodIds}`);
  assert.ok(!prodIds.includes(idStaging) && !prodIds.includes(idNone), `--property environment=production has other rows: ${prodIds}`);
  for (const r of prod) assert.equal(r.properties?.environment, 'production', JSON.stringify(r.properties));

  const any = await logsFiltered(ctx.gw, ['--property', 'environment']);
  const anyIds = any.map((r) => r.request_id);
  for (const id of [idProd1, idProd2, idStaging]) assert.ok(anyIds.includes(id), `--property environment misses ${id}`);
  assert.ok(!anyIds.includes(idNone), '--property environment lists a row without it');
  for (const r of any) assert.equal(typeof r.properties?.environment, 'string');

  const tagged = await logsFiltered(ctx.gw, ['--property', `run-tag=${tag}`]);
  assert.deepEqual(tagged.map((r) => r.request_id), [idProd1]);

  // the raw table: lower-case names, one row per property
  const lines = await sqlite(ctx.gw,
    `select name, value from request_properties where log_id in (select id from request_logs where request_id = '${idProd1}') order by name`);
  assert.deepEqual(lines, ['environment|production', `run-tag|${tag}`]);
  const all = await sqlite(ctx.gw, 'select name, value from request_properties');
  assert.ok(all.includes(`run-tag|${tag}`), `request_properties: ${all.join('; ')}`);
  assert.ok(all.every((l) => l.split('|')[0] === l.split('|')[0].toLowerCase()), `upper-case names stored: ${all.join('; ')}`);

  assert.equal(ctx.mock.requests.length, 4);
  assertAllClean(ctx.mock);
});

ctx.test('alephant-property-* at the limits is accepted: 32 properties, 64-byte name, 1024-byte value', async () => {
  const id = randomUUID();
  const headers = { 'x-request-id': id };
  for (let i = 0; i < 31; i++) headers[`alephant-property-p${i}`] = `v${i}`;
  headers[`alephant-property-${'n'.repeat(64)}`] = 'v'.repeat(1024);
  const res = await chat(ctx.gw, VK, { headers });
  assert.equal(res.status, 200, res.text);
  const row = await rowOf(ctx.gw, id);
  assert.equal(Object.keys(row.properties).length, 32);
  assert.equal(row.properties['n'.repeat(64)], 'v'.repeat(1024));
  assert.equal(row.properties.p30, 'v30');
  assertAllClean(ctx.mock);
});

ctx.test('alephant-property-* over a limit or with a bad name is a 400, nothing reaches the upstream', async () => {
  const too_many = {};
  for (let i = 0; i < 33; i++) too_many[`alephant-property-p${i}`] = `v${i}`;
  const cases = [
    ['33 properties', too_many],
    ['a 65-byte name', { [`alephant-property-${'n'.repeat(65)}`]: 'x' }],
    ['a 1025-byte value', { 'alephant-property-big': 'v'.repeat(1025) }],
  ];
  for (const [what, headers] of cases) {
    const id = randomUUID();
    const res = await chat(ctx.gw, VK, { headers: { 'x-request-id': id, ...headers } });
    assert.equal(res.status, 400, `${what}: status ${res.status} (${res.text.slice(0, 300)})`);
    const e = assertOpenAIError(res, 400);
    assert.match(e.message, /alephant-property/i, `${what}: the message does not name the header: ${e.message}`);
    assert.equal(ctx.mock.requests.length, 0, `${what}: the request reached the upstream`);
    const row = await rowOf(ctx.gw, id);
    assert.equal(row.status, 400, what);
  }
});

// Web servers pass header names to FastCGI/CGI programs as HTTP_* variables, where every
// character other than a letter or digit becomes "_": the gateway cannot tell "my_prop" from
// "my.prop" from "my-prop" and stores all of them as "my-prop" (documented in the README).
ctx.test('alephant-property-* names: case-insensitive, "." and "_" arrive as "-" (CGI header naming)', async () => {
  const id = randomUUID();
  const res = await chat(ctx.gw, VK, {
    headers: { 'x-request-id': id, 'alephant-property-App.Version': '1.2', 'alephant-property-my_prop': 'x', 'alephant-property-my-other': 'y' },
  });
  assert.equal(res.status, 200, res.text);
  const row = await rowOf(ctx.gw, id);
  assert.deepEqual(row.properties, { 'app-version': '1.2', 'my-prop': 'x', 'my-other': 'y' });
  assertAllClean(ctx.mock);
});

// An empty header value never reaches the gateway (lighttpd drops empty request headers), so
// "present" means present with a value; any value counts, "false" included (tested below).
ctx.test('alephant-omit-request/-response: bodies not stored anywhere in the database file, tokens and cost kept', async () => {
  const markers = {};
  const replyFor = new Map();
  for (const k of ['reqOmit', 'respOmit', 'bothOmit', 'control', 'streamOmit']) {
    markers[k] = { ask: `ask-${k}-${randomUUID()}`, reply: `reply-${k}-${randomUUID()}` };
    replyFor.set(markers[k].ask, markers[k].reply);
  }
  ctx.mock.setHandler((req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    const ask = body.messages[0].content;
    const reply = replyFor.get(ask) ?? 'unknown';
    if (body.stream === true) return streamDefault(res, body, { pieces: ['x ', reply, ' y'] });
    return sendJson(res, 200, chatCompletion(body.model, { content: `answer ${reply} end` }));
  });
  await withOwnGateway({ mock: ctx.mock, secret: ctx.secret }, async (gw, vk, stop) => {
    const ids = {};
    const send = async (k, headers, extra = {}) => {
      ids[k] = randomUUID();
      const res = await chat(gw, vk, {
        headers: { 'x-request-id': ids[k], ...headers },
        body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: markers[k].ask }], ...extra },
      });
      assert.equal(res.status, 200, res.text);
      assert.ok(res.text.includes(markers[k].reply), `${k}: the client did not get the answer`);
    };
    await send('reqOmit', { 'alephant-omit-request': '1' });
    await send('respOmit', { 'alephant-omit-response': 'false' }); // any value counts
    await send('bothOmit', { 'alephant-omit-request': 'yes', 'alephant-omit-response': 'yes' });
    await send('control', {});
    await send('streamOmit', { 'alephant-omit-response': 'yes' }, { stream: true });
    assert.equal(ctx.mock.requests.length, 5);
    assertAllClean(ctx.mock);
    // the upstream still got the full request
    assert.ok(ctx.mock.requests[0].body.toString().includes(markers.reqOmit.ask));

    const row = {};
    for (const k of Object.keys(ids)) row[k] = await rowOf(gw, ids[k]);
    const c = row.control;
    assert.ok(String(c.request_body).includes(markers.control.ask));
    assert.ok(String(c.response_body).includes(markers.control.reply));
    assert.equal(c.request_omitted, false);
    assert.equal(c.response_omitted, false);
    assert.equal(typeof c.cost_nanos, 'number');
    assert.ok(c.cost_nanos > 0, `control cost_nanos ${c.cost_nanos}`);

    const check = (k, reqOmitted, respOmitted) => {
      const r = row[k];
      assert.equal(r.request_omitted, reqOmitted, `${k}: request_omitted ${r.request_omitted}`);
      assert.equal(r.response_omitted, respOmitted, `${k}: response_omitted ${r.response_omitted}`);
      if (reqOmitted) assert.equal(r.request_body, null, `${k}: request_body ${r.request_body}`);
      else assert.ok(String(r.request_body).includes(markers[k].ask), `${k}: request_body ${r.request_body}`);
      if (respOmitted) assert.equal(r.response_body, null, `${k}: response_body ${r.response_body}`);
      else assert.ok(String(r.response_body).includes(markers[k].reply), `${k}: response_body ${r.response_body}`);
      assert.equal(r.status, 200);
    };
    check('reqOmit', true, false);
    check('respOmit', false, true);
    check('bothOmit', true, true);
    check('streamOmit', false, true);
    for (const k of ['reqOmit', 'respOmit', 'bothOmit']) {
      assert.equal(row[k].prompt_tokens, MOCK_USAGE.prompt_tokens, k);
      assert.equal(row[k].completion_tokens, MOCK_USAGE.completion_tokens, k);
      assert.equal(row[k].total_tokens, MOCK_USAGE.total_tokens, k);
      assert.equal(row[k].cost_nanos, c.cost_nanos, `${k}: cost_nanos`);
    }
    assert.equal(row.streamOmit.prompt_tokens, MOCK_STREAM_USAGE.prompt_tokens);
    assert.equal(row.streamOmit.completion_tokens, MOCK_STREAM_USAGE.completion_tokens);
    assert.ok(row.streamOmit.cost_nanos > 0, `stream cost_nanos ${row.streamOmit.cost_nanos}`);

    // The raw bytes: stop the gateway (rows flushed, WAL checkpointed or left), read both files.
    await stop();
    const bytes = [];
    for (const f of ['alephant.db', 'alephant.db-wal', 'log-spill.jsonl']) {
      const b = await fsp.readFile(path.join(gw.stateDir, f)).catch((e) => { if (e.code === 'ENOENT') return null; throw e; });
      if (b) bytes.push([f, b]);
    }
    assert.ok(bytes.some(([f]) => f === 'alephant.db'), 'no alephant.db');
    const hits = (s) => bytes.filter(([, b]) => b.indexOf(Buffer.from(s)) >= 0).map(([f]) => f);
    // the controls: stored text is findable this way
    assert.notDeepEqual(hits(markers.control.ask), [], 'control request marker not found in the database files');
    assert.notDeepEqual(hits(markers.control.reply), [], 'control response marker not found in the database files');
    assert.notDeepEqual(hits(markers.reqOmit.reply), [], 'reqOmit: stored response marker not found');
    assert.notDeepEqual(hits(markers.respOmit.ask), [], 'respOmit: stored request marker not found');
    assert.notDeepEqual(hits(markers.streamOmit.ask), [], 'streamOmit: stored request marker not found');
    // the omitted sides: nowhere
    for (const [k, s] of [['reqOmit', markers.reqOmit.ask], ['respOmit', markers.respOmit.reply],
      ['bothOmit', markers.bothOmit.ask], ['bothOmit', markers.bothOmit.reply], ['streamOmit', markers.streamOmit.reply]]) {
      assert.deepEqual(hits(s), [], `${k}: omitted text ${s} found in ${hits(s).join(', ')}`);
    }
  });
});

// ---- country and referer ----

ctx.test('country: cf-ipcountry, else x-alephant-country-code; two letters upper-cased, others null; referer stored', async () => {
  const cases = [
    [{ 'cf-ipcountry': 'us' }, 'US'],
    [{ 'cf-ipcountry': 'DE' }, 'DE'],
    [{ 'x-alephant-country-code': 'fr' }, 'FR'],
    [{ 'cf-ipcountry': 'JP', 'x-alephant-country-code': 'DE' }, 'JP'],
    [{ 'cf-ipcountry': 'USA' }, null],
    [{ 'cf-ipcountry': '1x' }, null],
    [{ 'cf-ipcountry': '' }, null],
    [{ 'x-alephant-country-code': 'USA' }, null],
    [{ 'x-alephant-country-code': '1x' }, null],
    [{}, null],
  ];
  for (const [headers, want] of cases) {
    const id = randomUUID();
    const res = await chat(ctx.gw, VK, { headers: { 'x-request-id': id, ...headers } });
    assert.equal(res.status, 200, res.text);
    const row = await rowOf(ctx.gw, id);
    assert.ok('country' in row, 'the row has no country field');
    assert.equal(row.country, want, `country for ${JSON.stringify(headers)}`);
  }
  const id = randomUUID();
  const res = await chat(ctx.gw, VK, { headers: { 'x-request-id': id, referer: 'https://example.test/page?x=1' } });
  assert.equal(res.status, 200, res.text);
  assert.equal((await rowOf(ctx.gw, id)).referer, 'https://example.test/page?x=1');
  assertAllClean(ctx.mock);
});

// ---- client IPs ----

ctx.test('x-forwarded-for without trusted proxies: forwarded_ip is the leftmost valid entry, ratelimit_ip the peer', async () => {
  const cases = [
    ['203.0.113.7, 10.0.0.1', '203.0.113.7'],
    ['garbage, 198.51.100.2', '198.51.100.2'],
    ['2001:db8::5', '2001:db8::5'],
    ['garbage, not-an-ip', null],
  ];
  for (const [xff, want] of cases) {
    const id = randomUUID();
    const res = await chat(ctx.gw, VK, { headers: { 'x-request-id': id, 'x-forwarded-for': xff } });
    assert.equal(res.status, 200, res.text);
    const row = await rowOf(ctx.gw, id);
    assert.equal(row.forwarded_ip, want, `forwarded_ip for x-forwarded-for: ${xff}`);
    assert.equal(row.ratelimit_ip, '127.0.0.1', `ratelimit_ip for x-forwarded-for: ${xff}`);
    assert.equal(row.client_ip, '127.0.0.1');
  }
  assertAllClean(ctx.mock);
});

ctx.test('x-forwarded-for via a trusted proxy (ALEPHANT_TRUSTED_PROXIES=127.0.0.1/32): rightmost untrusted is the rate-limit IP', async () => {
  await withOwnGateway({ env: { ALEPHANT_TRUSTED_PROXIES: '127.0.0.1/32' }, mock: ctx.mock, secret: ctx.secret }, async (gw, vk) => {
    const cases = [
      ['203.0.113.7, 198.51.100.9', '198.51.100.9', '203.0.113.7'],
      ['2001:db8::5', '2001:db8::5', '2001:db8::5'],
      ['203.0.113.7, 127.0.0.1', '203.0.113.7', '203.0.113.7'],
      [undefined, '127.0.0.1', undefined],
    ];
    for (const [xff, wantRl, wantFwd] of cases) {
      const id = randomUUID();
      const headers = { 'x-request-id': id };
      if (xff !== undefined) headers['x-forwarded-for'] = xff;
      const res = await chat(gw, vk, { headers });
      assert.equal(res.status, 200, res.text);
      const row = await rowOf(gw, id);
      assert.equal(row.ratelimit_ip, wantRl, `ratelimit_ip for x-forwarded-for: ${xff}`);
      if (wantFwd !== undefined) assert.equal(row.forwarded_ip, wantFwd, `forwarded_ip for x-forwarded-for: ${xff}`);
      assert.equal(row.client_ip, '127.0.0.1');
    }
    assertAllClean(ctx.mock);
  });
});

// ---- prompt templates ----

const GREET_V1 = {
  messages: [
    { role: 'system', content: 'You answer in {{language}}.' },
    { role: 'user', content: 'Greet {{ name }}.' },
  ],
  model: 'gpt-4o-mini',
  params: { temperature: 0.2 },
};

ctx.test('prompt templates: rendered, merged, versioned, logged; errors are 400s that reach no upstream', async () => {
  const name = 'greet';
  const out = await ctx.gw.ctl(['prompt', 'add', '--name', name, '--stdin'], { input: JSON.stringify(GREET_V1) });
  assert.equal(out.trim(), 'greet v1');

  // applied: template messages, then the request's; request fields override; no "inputs"
  let id = randomUUID();
  let res = await chat(ctx.gw, VK, {
    headers: { 'x-request-id': id, 'alephant-prompt-id': name },
    body: { inputs: { language: 'French', name: 'Ada' }, messages: [{ role: 'user', content: 'extra' }], temperature: 0.7 },
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(ctx.mock.requests.length, 1);
  let up = upstreamJson(ctx.mock);
  assert.deepEqual(up.messages, [
    { role: 'system', content: 'You answer in French.' },
    { role: 'user', content: 'Greet Ada.' },
    { role: 'user', content: 'extra' },
  ]);
  assert.equal(up.model, 'gpt-4o-mini');
  assert.equal(up.temperature, 0.7);
  assert.ok(!('inputs' in up), `inputs forwarded: ${JSON.stringify(up)}`);
  let row = await rowOf(ctx.gw, id);
  assert.equal(row.prompt_id, 'greet');
  assert.equal(row.prompt_version, 1);
  assert.equal(row.model, 'gpt-4o-mini');
  assert.equal(row.status, 200);

  // template defaults apply when the request does not set them
  ctx.mock.clear();
  res = await chat(ctx.gw, VK, {
    headers: { 'alephant-prompt-id': name },
    body: { inputs: { language: 'German', name: 'Bob' } },
  });
  assert.equal(res.status, 200, res.text);
  up = upstreamJson(ctx.mock);
  assert.equal(up.temperature, 0.2);
  assert.deepEqual(up.messages, [
    { role: 'system', content: 'You answer in German.' },
    { role: 'user', content: 'Greet Bob.' },
  ]);

  // a value containing placeholder syntax is inserted literally, never re-rendered
  ctx.mock.clear();
  res = await chat(ctx.gw, VK, {
    headers: { 'alephant-prompt-id': name },
    body: { inputs: { language: 'French', name: '{{name}} and {{language}}' } },
  });
  assert.equal(res.status, 200, res.text);
  up = upstreamJson(ctx.mock);
  assert.equal(up.messages[1].content, 'Greet {{name}} and {{language}}.');

  // errors: nothing upstream
  const refused = [
    ['a missing variable', { headers: { 'alephant-prompt-id': name }, body: { inputs: { name: 'Ada' } } }, /language/],
    ['a non-JSON body', { headers: { 'alephant-prompt-id': name }, body: 'hello, not json', contentType: 'text/plain' }, null],
    ['a JSON body that is not an object', { headers: { 'alephant-prompt-id': name }, body: '[1,2]' }, null],
    ['an unknown prompt id', { headers: { 'alephant-prompt-id': `nope-${randomUUID().slice(0, 8)}` }, body: { inputs: {} } }, null],
  ];
  for (const [what, opts, named] of refused) {
    ctx.mock.clear();
    const rid = randomUUID();
    const r = await chat(ctx.gw, VK, { ...opts, headers: { ...opts.headers, 'x-request-id': rid } });
    const e = assertOpenAIError(r, 400);
    if (named) assert.match(e.message, named, `${what}: message ${e.message}`);
    assert.equal(ctx.mock.requests.length, 0, `${what}: reached the upstream`);
    assert.equal((await rowOf(ctx.gw, rid)).status, 400, what);
  }

  // a second version is used from then on
  const v2 = structuredClone(GREET_V1);
  v2.messages[0].content = 'You always answer in {{language}} (v2).';
  const out2 = await ctx.gw.ctl(['prompt', 'add', '--name', name, '--stdin'], { input: JSON.stringify(v2) });
  assert.equal(out2.trim(), 'greet v2');
  ctx.mock.clear();
  id = randomUUID();
  res = await chat(ctx.gw, VK, {
    headers: { 'x-request-id': id, 'alephant-prompt-id': name },
    body: { inputs: { language: 'French', name: 'Ada' } },
  });
  assert.equal(res.status, 200, res.text);
  up = upstreamJson(ctx.mock);
  assert.equal(up.messages[0].content, 'You always answer in French (v2).');
  row = await rowOf(ctx.gw, id);
  assert.equal(row.prompt_id, 'greet');
  assert.equal(row.prompt_version, 2);
});

// ---- all of them at once: nothing gateway-only reaches the upstream ----

ctx.test('every tracking header together: the request succeeds and none reaches the upstream', async () => {
  await ctx.gw.ctl(['prompt', 'add', '--name', 'allhdr', '--stdin'], {
    input: JSON.stringify({ messages: [{ role: 'system', content: 'Be {{tone}}.' }], model: 'gpt-4o-mini' }),
  }).then((o) => assert.match(o.trim(), /^allhdr v\d+$/));
  const id = randomUUID();
  const res = await chat(ctx.gw, VK, {
    headers: {
      'x-request-id': id,
      'alephant-session-id': 'all-sess',
      'alephant-session-path': '/all',
      'alephant-session-name': 'All',
      'alephant-property-environment': 'test',
      'alephant-omit-request': '1',
      'alephant-omit-response': '1',
      'alephant-prompt-id': 'allhdr',
      'cf-ipcountry': 'CH',
      'x-alephant-country-code': 'AT',
      'x-forwarded-for': '203.0.113.7, 10.0.0.1',
      referer: 'https://example.test/all',
    },
    body: { inputs: { tone: 'brief' }, messages: [{ role: 'user', content: 'hi' }] },
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers['alephant-id'], id);
  assert.equal(ctx.mock.requests.length, 1);
  assertNoGatewayHeaders(ctx.mock.requests[0]);
  const row = await rowOf(ctx.gw, id);
  assert.equal(row.session_id, 'all-sess');
  assert.equal(row.country, 'CH');
  assert.equal(row.forwarded_ip, '203.0.113.7');
  assert.deepEqual(row.properties, { environment: 'test' });
  assert.equal(row.request_body, null);
  assert.equal(row.response_body, null);
  assert.equal(row.prompt_id, 'allhdr');
});
