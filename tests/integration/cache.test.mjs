// Exact response cache: miss then hit for bodies that differ only in key order and whitespace;
// virtual keys never share entries; buckets (N misses, then random hits among N stored answers);
// seed isolation; max-age expiry (with the test-only clock offset file); Read-only and Save-only;
// stream replay byte for byte; the log rows (hit points at its source, saved cost, no cost);
// rate limits still count a hit; invalid headers; cache headers never reach the provider; a
// cache database that cannot be opened still answers from upstream.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useGateway } from './lib/suite.mjs';
import { startGateway } from './lib/gateway.mjs';
import { chatCompletion, sendJson, streamDefault } from './lib/mock-upstream.mjs';
import { request, assertOpenAIError } from './lib/http.mjs';
import { sql } from './lib/faults.mjs';

let clockFile;
const ctx = useGateway({
  gateway: {
    processes: 2,
    threads: 4,
    env: { ALEPHANT_TEST_CACHE_CLOCK_OFFSET_FILE: (clockFile = `/tmp/alephant-cache-clock-${process.pid}`) },
  },
  async setup({ gw, mock, secret }) {
    fs.writeFileSync(clockFile, '0');
    await gw.addProviderKey({ name: 'up', baseUrl: mock.baseUrl, secret });
    ctx.vk1 = await gw.createVk({ name: 'k1', providerKey: 'up' });
    ctx.vk2 = await gw.createVk({ name: 'k2', providerKey: 'up' });
    ctx.vkLimited = await gw.createVk({ name: 'k3', providerKey: 'up' });
    await gw.ctl(['vk', 'update', 'k3', '--rpm', '3']);
    await gw.setPrice({ model: 'gpt-4o-mini', provider: 'openai', input: '0.15', output: '0.60' });
  },
});

let counter = 0;
/** A mock that answers differently every time ("answer N"). */
function countingHandler() {
  return (req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    counter += 1;
    if (body.stream === true) return streamDefault(res, body, { pieces: [`answer`, ` ${counter}`] });
    return sendJson(res, 200, chatCompletion(body.model, { content: `answer ${counter}` }));
  };
}

function chat(vk, { body, raw, headers = {} } = {}) {
  return request(ctx.gw.base, {
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${vk}`, 'content-type': 'application/json', ...headers },
    body: raw ?? JSON.stringify(body),
  });
}

function content(r) {
  return r.json().choices[0].message.content;
}

let uniq = 0;
function prompt(text = 'hello') {
  uniq += 1;
  return { model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: `${text} #${uniq} ${process.pid}` }] };
}

const ON = { 'Alephant-Cache-Enabled': 'true' };

ctx.test('miss then hit for the same body in another key order and whitespace', async () => {
  ctx.mock.setHandler(countingHandler());
  const p = prompt();
  const a = await chat(ctx.vk1, { body: p, headers: ON });
  assert.equal(a.status, 200);
  assert.equal(a.headers['alephant-cache'], 'MISS');
  assert.match(a.headers['alephant-cache-latency'], /^\d+$/);
  assert.equal(a.headers['alephant-cache-bucket-idx'], undefined);
  // Same JSON, other key order and whitespace.
  const raw = `{\n  "messages": [ { "content": ${JSON.stringify(p.messages[0].content)}, "role": "user" } ],\n  "temperature": 0, "model": "gpt-4o-mini"\n}`;
  const b = await chat(ctx.vk1, { raw, headers: { 'alephant-cache-enabled': 'TRUE' } });
  assert.equal(b.status, 200);
  assert.equal(b.headers['alephant-cache'], 'HIT');
  assert.equal(b.headers['alephant-cache-bucket-idx'], '0');
  assert.equal(content(b), content(a));
  assert.equal(b.text, a.text, 'the stored body is served byte for byte');
  assert.equal(ctx.mock.requests.length, 1, 'the hit never reached the provider');
  assert.notEqual(b.headers['alephant-id'], a.headers['alephant-id'], 'a hit has its own log id');
  // Cache headers never go upstream.
  for (const name of Object.keys(ctx.mock.requests[0].headers)) assert.ok(!/^alephant-/.test(name), name);

  const [hit] = await ctx.gw.waitForLogs((r) => r.request_id === b.headers['alephant-id']);
  assert.equal(hit.cache_status, 'HIT');
  assert.equal(hit.cache_kind, 'exact');
  assert.equal(hit.cache_source_request_id, a.headers['alephant-id']);
  assert.equal(hit.cache_bucket_idx, 0);
  assert.equal(hit.cost_nanos, 0);
  assert.equal(hit.status, 200);
  assert.equal(hit.prompt_tokens, 11, 'tokens as stored');
  assert.equal(hit.completion_tokens, 7);
  assert.equal(hit.attempts.length, 0);
  const [miss] = await ctx.gw.waitForLogs((r) => r.request_id === a.headers['alephant-id']);
  assert.equal(miss.cache_status, 'MISS');
  assert.ok(miss.cost_nanos > 0);
  assert.equal(hit.cache_saved_nanos, miss.cost_nanos, 'the saved cost is the original call\'s');
  assert.equal(miss.cache_source_request_id, null);
});

ctx.test('without the cache headers nothing is cached and no cache header is sent', async () => {
  ctx.mock.setHandler(countingHandler());
  const p = prompt();
  const a = await chat(ctx.vk1, { body: p });
  const b = await chat(ctx.vk1, { body: p, headers: { 'Alephant-Cache-Enabled': 'yes' } });
  assert.equal(a.headers['alephant-cache'], undefined);
  assert.equal(b.headers['alephant-cache'], undefined);
  assert.notEqual(content(a), content(b));
  assert.equal(ctx.mock.requests.length, 2);
});

ctx.test('different virtual keys never share entries', async () => {
  ctx.mock.setHandler(countingHandler());
  const p = prompt();
  const a = await chat(ctx.vk1, { body: p, headers: ON });
  const b = await chat(ctx.vk2, { body: p, headers: ON });
  assert.equal(a.headers['alephant-cache'], 'MISS');
  assert.equal(b.headers['alephant-cache'], 'MISS');
  assert.notEqual(content(a), content(b));
  const a2 = await chat(ctx.vk1, { body: p, headers: ON });
  const b2 = await chat(ctx.vk2, { body: p, headers: ON });
  assert.equal(content(a2), content(a));
  assert.equal(content(b2), content(b));
});

ctx.test('bucket N=3: three misses, then hits among the three stored answers', async () => {
  ctx.mock.setHandler(countingHandler());
  const p = prompt();
  const h = { ...ON, 'Alephant-Cache-Bucket-Max-Size': '3' };
  const stored = new Set();
  for (let i = 0; i < 3; i++) {
    const r = await chat(ctx.vk1, { body: p, headers: h });
    assert.equal(r.headers['alephant-cache'], 'MISS', `request ${i + 1} fills slot ${i}`);
    stored.add(content(r));
  }
  assert.equal(stored.size, 3);
  const seen = new Set();
  const idx = new Set();
  for (let i = 0; i < 30; i++) {
    const r = await chat(ctx.vk1, { body: p, headers: h });
    assert.equal(r.headers['alephant-cache'], 'HIT');
    const k = Number(r.headers['alephant-cache-bucket-idx']);
    assert.ok(k >= 0 && k <= 2, `bucket index ${k}`);
    assert.ok(stored.has(content(r)));
    seen.add(content(r));
    idx.add(k);
  }
  assert.equal(ctx.mock.requests.length, 3);
  assert.ok(seen.size >= 2, `at least two distinct answers over 30 hits (saw ${seen.size})`);
  assert.equal(seen.size, idx.size, 'each slot holds its own answer');
});

ctx.test('bucket N=3, six concurrent identical misses: exactly three stored, in distinct slots', async () => {
  // The upstream holds every answer until all six requests reached it, so all six looked the
  // request up while every slot was empty (six misses) and save concurrently.
  let waiting = [];
  ctx.mock.setHandler((req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    counter += 1;
    const answer = `answer ${counter}`;
    waiting.push(() => sendJson(res, 200, chatCompletion(body.model, { content: answer })));
    if (waiting.length === 6) { for (const f of waiting) f(); waiting = []; }
  });
  const p = prompt('concurrent');
  const h = { ...ON, 'Alephant-Cache-Bucket-Max-Size': '3' };
  const rs = await Promise.all(Array.from({ length: 6 }, () => chat(ctx.vk2, { body: p, headers: h })));
  for (const r of rs) {
    assert.equal(r.status, 200);
    assert.equal(r.headers['alephant-cache'], 'MISS');
  }
  const ids = rs.map((r) => `'${r.headers['alephant-id']}'`).join(',');
  await ctx.gw.waitForLogs((r) => rs.some((x) => x.headers['alephant-id'] === r.request_id), { count: 6 });
  const rows = (await sql(path.join(ctx.gw.stateDir, 'cache.db'),
    `SELECT bucket || ' ' || source_request_id FROM cache_entries WHERE source_request_id IN (${ids}) ORDER BY bucket;`))
    .split('\n').filter(Boolean).map((l) => l.split(' '));
  assert.deepEqual(rows.map(([b]) => b), ['0', '1', '2'], 'three answers, one per slot');
  // Each slot serves the answer of the request that saved it.
  const bySlot = new Map(rows.map(([b, id]) => [b, rs.find((r) => r.headers['alephant-id'] === id)]));
  const seen = new Set();
  for (let i = 0; i < 30; i++) {
    const r = await chat(ctx.vk2, { body: p, headers: h });
    assert.equal(r.headers['alephant-cache'], 'HIT');
    const k = r.headers['alephant-cache-bucket-idx'];
    assert.equal(content(r), content(bySlot.get(k)));
    seen.add(k);
  }
  assert.ok(seen.size >= 2, `hits from at least two slots (saw ${[...seen]})`);
});

ctx.test('seeds are namespaces: a new seed starts empty', async () => {
  ctx.mock.setHandler(countingHandler());
  const p = prompt();
  const a = await chat(ctx.vk1, { body: p, headers: { ...ON, 'Alephant-Cache-Seed': 's1' } });
  const b = await chat(ctx.vk1, { body: p, headers: { ...ON, 'Alephant-Cache-Seed': 's2' } });
  const c = await chat(ctx.vk1, { body: p, headers: ON });
  assert.deepEqual([a, b, c].map((r) => r.headers['alephant-cache']), ['MISS', 'MISS', 'MISS']);
  const a2 = await chat(ctx.vk1, { body: p, headers: { ...ON, 'Alephant-Cache-Seed': 's1' } });
  assert.equal(a2.headers['alephant-cache'], 'HIT');
  assert.equal(content(a2), content(a));
  assert.notEqual(content(b), content(a));
});

ctx.test('max-age: an expired entry is a miss (test clock moved forward)', async () => {
  ctx.mock.setHandler(countingHandler());
  const p = prompt();
  const h = { ...ON, 'Alephant-Cache-Control': 'max-age=60' };
  const hl = { ...ON, 'Alephant-Cache-Control': 'max-age=5, s-maxage=3600' };
  const pl = prompt();
  const a = await chat(ctx.vk1, { body: p, headers: h });
  const l = await chat(ctx.vk1, { body: pl, headers: hl });
  assert.equal(a.headers['alephant-cache'], 'MISS');
  assert.equal(l.headers['alephant-cache'], 'MISS');
  try {
    fs.writeFileSync(clockFile, '59');
    assert.equal((await chat(ctx.vk1, { body: p, headers: h })).headers['alephant-cache'], 'HIT');
    fs.writeFileSync(clockFile, '61');
    const b = await chat(ctx.vk1, { body: p, headers: h });
    assert.equal(b.headers['alephant-cache'], 'MISS', 'expired after max-age');
    assert.notEqual(content(b), content(a));
    // s-maxage wins over max-age.
    assert.equal((await chat(ctx.vk1, { body: pl, headers: hl })).headers['alephant-cache'], 'HIT');
    fs.writeFileSync(clockFile, '3601');
    assert.equal((await chat(ctx.vk1, { body: pl, headers: hl })).headers['alephant-cache'], 'MISS');
  } finally {
    fs.writeFileSync(clockFile, '0');
  }
});

ctx.test('Read-only never saves; Save-only saves without reading', async () => {
  ctx.mock.setHandler(countingHandler());
  const p = prompt();
  const r1 = await chat(ctx.vk1, { body: p, headers: { 'Alephant-Cache-Read': 'true' } });
  const r2 = await chat(ctx.vk1, { body: p, headers: { 'Alephant-Cache-Read': 'true' } });
  assert.equal(r1.headers['alephant-cache'], 'MISS');
  assert.equal(r2.headers['alephant-cache'], 'MISS', 'read-only saved nothing');
  const s1 = await chat(ctx.vk1, { body: p, headers: { 'Alephant-Cache-Save': 'true' } });
  const s2 = await chat(ctx.vk1, { body: p, headers: { 'Alephant-Cache-Save': 'true' } });
  assert.equal(s1.headers['alephant-cache'], 'MISS');
  assert.equal(s2.headers['alephant-cache'], 'MISS', 'save-only never reads');
  assert.notEqual(content(s1), content(s2));
  const r3 = await chat(ctx.vk1, { body: p, headers: { 'Alephant-Cache-Read': 'true' } });
  assert.equal(r3.headers['alephant-cache'], 'HIT');
  assert.equal(content(r3), content(s2), 'save-only refreshed the slot');
  assert.equal(ctx.mock.requests.length, 4);
});

ctx.test('only 2xx answers are saved', async () => {
  const p = prompt();
  ctx.mock.setHandler((req, res) => sendJson(res, 400, { error: { message: 'no', type: 'invalid_request_error', code: 'x' } }));
  const a = await chat(ctx.vk1, { body: p, headers: ON });
  assert.equal(a.status, 400);
  assert.equal(a.headers['alephant-cache'], 'MISS');
  ctx.mock.setHandler(countingHandler());
  const b = await chat(ctx.vk1, { body: p, headers: ON });
  assert.equal(b.status, 200);
  assert.equal(b.headers['alephant-cache'], 'MISS');
  assert.equal((await chat(ctx.vk1, { body: p, headers: ON })).headers['alephant-cache'], 'HIT');
});

ctx.test('streams are stored as events and replayed byte for byte; never across stream modes', async () => {
  ctx.mock.setHandler(countingHandler());
  const p = { ...prompt(), stream: true };
  const a = await chat(ctx.vk1, { body: p, headers: ON });
  assert.equal(a.status, 200);
  assert.match(a.headers['content-type'], /^text\/event-stream/);
  assert.equal(a.headers['alephant-cache'], 'MISS');
  const b = await chat(ctx.vk1, { body: p, headers: ON });
  assert.equal(b.headers['alephant-cache'], 'HIT');
  assert.match(b.headers['content-type'], /^text\/event-stream/);
  assert.equal(b.text, a.text, 'the replay is byte-equivalent');
  assert.match(b.text, /data: \[DONE\]\n\n$/);
  // The same prompt without stream is another entry; and the other way round.
  const np = { ...p, stream: false };
  const c = await chat(ctx.vk1, { body: np, headers: ON });
  assert.equal(c.headers['alephant-cache'], 'MISS');
  assert.match(c.headers['content-type'], /^application\/json/);
  assert.equal(ctx.mock.requests.length, 2);
  const [row] = await ctx.gw.waitForLogs((r) => r.request_id === b.headers['alephant-id']);
  assert.equal(row.cache_status, 'HIT');
  assert.equal(row.stream, true);
  assert.equal(row.prompt_tokens, 13);
});

ctx.test('an incomplete stream is not saved', async () => {
  const p = { ...prompt(), stream: true };
  ctx.mock.setHandler((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"par');
    res.end();
  });
  const a = await chat(ctx.vk1, { body: p, headers: ON });
  assert.equal(a.headers['alephant-cache'], 'MISS');
  ctx.mock.setHandler(countingHandler());
  const b = await chat(ctx.vk1, { body: p, headers: ON });
  assert.equal(b.headers['alephant-cache'], 'MISS', 'the broken stream was not stored');
});

ctx.test('invalid cache headers are a 400 naming the header', async () => {
  for (const v of ['0', '21', 'three']) {
    const r = await chat(ctx.vk1, { body: prompt(), headers: { ...ON, 'Alephant-Cache-Bucket-Max-Size': v } });
    assertOpenAIError(r, 400);
    assert.match(r.json().error.message, /Alephant-Cache-Bucket-Max-Size/);
  }
  const r = await chat(ctx.vk1, { body: prompt(), headers: { ...ON, 'Alephant-Cache-Control': 'max-age=soon' } });
  assertOpenAIError(r, 400);
  assert.match(r.json().error.message, /Alephant-Cache-Control/);
  assert.equal(ctx.mock.requests.length, 0);
});

ctx.test('a hit counts against rate limits; policies still run before the cache', async () => {
  ctx.mock.setHandler(countingHandler());
  const p = prompt();
  const codes = [];
  for (let i = 0; i < 4; i++) {
    const r = await chat(ctx.vkLimited, { body: p, headers: ON });
    codes.push(`${r.status} ${r.headers['alephant-cache'] ?? '-'}`);
  }
  assert.deepEqual(codes, ['200 MISS', '200 HIT', '200 HIT', '429 -']);
  assert.equal(ctx.mock.requests.length, 1);
});

ctx.test('purge by scope and by seed (alephantctl cache purge)', async () => {
  ctx.mock.setHandler(countingHandler());
  const p = prompt();
  await chat(ctx.vk1, { body: p, headers: { ...ON, 'Alephant-Cache-Seed': 'purge-me' } });
  await chat(ctx.vk1, { body: p, headers: ON });
  await chat(ctx.vk2, { body: p, headers: ON });
  const out = await ctx.gw.ctl(['cache', 'purge', '--seed', 'purge-me']);
  assert.match(out, /1 entr/);
  assert.equal((await chat(ctx.vk1, { body: p, headers: { ...ON, 'Alephant-Cache-Seed': 'purge-me' } })).headers['alephant-cache'], 'MISS');
  assert.equal((await chat(ctx.vk1, { body: p, headers: ON })).headers['alephant-cache'], 'HIT');
  await ctx.gw.ctl(['cache', 'purge', '--scope', 'vk:k1']);
  assert.equal((await chat(ctx.vk1, { body: p, headers: ON })).headers['alephant-cache'], 'MISS');
  assert.equal((await chat(ctx.vk2, { body: p, headers: ON })).headers['alephant-cache'], 'HIT', 'other scopes kept');
  const bad = await ctx.gw.ctlResult(['cache', 'purge', '--scope', 'vk:nope']);
  assert.notEqual(bad.code, 0);
  const none = await ctx.gw.ctlResult(['cache', 'purge']);
  assert.equal(none.code, 2, 'purging everything needs --all');
});

ctx.test('a cache database that cannot be used still answers from upstream', async () => {
  // A second instance whose cache path is a directory: every open fails.
  const gw2 = await startGateway({ processes: 1, threads: 2, env: { ALEPHANT_CACHE_PATH: '/' } });
  try {
    await gw2.addProviderKey({ name: 'up', baseUrl: ctx.mock.baseUrl, secret: ctx.secret });
    const vk = await gw2.createVk({ name: 'k', providerKey: 'up' });
    ctx.mock.setHandler(countingHandler());
    const p = prompt();
    for (let i = 0; i < 2; i++) {
      const r = await request(gw2.base, {
        method: 'POST', path: '/v1/chat/completions',
        headers: { authorization: `Bearer ${vk}`, 'content-type': 'application/json', ...ON },
        body: JSON.stringify(p),
      });
      assert.equal(r.status, 200);
      assert.equal(r.headers['alephant-cache'], 'MISS');
    }
    assert.equal(ctx.mock.requests.length, 2);
  } catch (e) {
    gw2.markFailed();
    throw e;
  } finally {
    await gw2.stop();
  }
});

ctx.test('cache.db is its own file in the state directory', async () => {
  assert.ok(fs.existsSync(path.join(ctx.gw.stateDir, 'cache.db')));
});
