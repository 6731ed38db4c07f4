// Upstream faults not covered elsewhere (errors.test.mjs has refusal → 502, silence → 504 and an
// oversized buffered answer; routing.test.mjs the retries before the first byte; streaming.test.mjs
// a cut after a whole event and a client leaving an active stream):
// - a provider that trickles bytes (below 1 byte/s over low_speed_time_s, but never silent for
//   that long) is aborted by the low-speed limit, buffered and streamed;
// - hung upstreams free their worker threads at the first-byte timeout (more hung requests than
//   threads, then a normal one) and their connections are closed;
// - a 500 from the only target is relayed as the provider sent it;
// - a reply that is not HTTP → 502; an endless SSE event or an endless body → 502 / SSE error,
//   with the worker's memory bounded;
// - a stream cut in the middle of an event by a clean close → SSE error event, the usage already
//   seen is logged, one row;
// - a client leaving a stream whose upstream is silent: the upstream is closed within 2 s.

import assert from 'node:assert/strict';
import { after } from 'node:test';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { useGateway } from './lib/suite.mjs';
import { request, streamRequest, assertOpenAIError, withTimeout, pollUntil, streamText } from './lib/http.mjs';
import { sseHead, sseSend, chatChunk, usageChunk, sendJson, MOCK_STREAM_USAGE } from './lib/mock-upstream.mjs';
import { workerPids, memOf, dbPathOf, assertRowsWhole } from './lib/faults.mjs';

let VK;
let VK_GARBAGE;
let garbageServer;
const MAX_RESPONSE = 1024 * 1024;

const ctx = useGateway({
  gateway: {
    processes: 1,
    threads: 3,
    env: {
      ALEPHANT_UPSTREAM_LOW_SPEED_TIME_S: '3',
      ALEPHANT_UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '1500',
      ALEPHANT_UPSTREAM_MAX_ATTEMPTS: '1',
      ALEPHANT_GATEWAY_MAX_RESPONSE_BYTES: String(MAX_RESPONSE),
    },
  },
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'up', baseUrl: mock.baseUrl, secret });
    VK = await gw.createVk({ name: 'faults-up', providerKey: 'up' });
    // A server that answers every connection with bytes that are not HTTP.
    garbageServer = net.createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.end('SSH-2.0-OpenSSH_9.2\r\n\r\nnot http at all\r\n'));
    });
    await new Promise((resolve) => garbageServer.listen(0, '127.0.0.1', resolve));
    await gw.addProviderKey({ name: 'garbage', baseUrl: `http://127.0.0.1:${garbageServer.address().port}/v1`, secret: secret + '-g' });
    VK_GARBAGE = await gw.createVk({ name: 'faults-garbage', providerKey: 'garbage' });
  },
});

after(() => new Promise((resolve) => (garbageServer ? garbageServer.close(resolve) : resolve())));

function chat(key, extra = {}, headers = {}) {
  const id = randomUUID();
  return request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-request-id': id, ...headers },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `faults ${id}` }], ...extra }),
    timeoutMs: 30_000,
  }).then((res) => Object.assign(res, { id }));
}

/** A handler that sends its head, then one byte every intervalMs until the gateway hangs up. */
function trickle({ sse, intervalMs = 1500 }) {
  return (req, res, rec) => {
    if (sse) sseHead(res);
    else { res.writeHead(200, { 'content-type': 'application/json' }); res.flushHeaders(); }
    const text = sse ? 'data: {"choices":[{"index":0,"delta":{"content":"slow"}}]}\n\n' : '{"object":"chat.completion","choices":[]}';
    let i = 0;
    const timer = setInterval(() => {
      if (rec.closedByClient || res.destroyed) { clearInterval(timer); return; }
      res.write(text[i % text.length]);
      i++;
    }, intervalMs);
    rec.closed.then(() => clearInterval(timer));
  };
}

ctx.test('a buffered answer trickling below 1 byte/s is aborted by the low-speed limit: 504, logged', async () => {
  ctx.mock.setHandler(trickle({ sse: false }));
  // Never silent for 3 s (a byte every 1.5 s), so only a rate limit — not a silence limit — ends it.
  const res = await withTimeout(chat(VK), 25_000, 'the answer to a trickling upstream');
  assertOpenAIError(res, 504, { code: 'upstream_timeout', forbidden: [ctx.secret] });
  const [rec] = await ctx.mock.waitForRequests(1);
  await pollUntil(() => rec.closedByClient, 10_000, 'the gateway to close the trickling connection');
  const rows = await ctx.gw.settledLogs((r) => r.request_id === res.id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].status, 504);
  assert.equal(rows[0].error_code, 'upstream_timeout');
});

ctx.test('a stream trickling below 1 byte/s is aborted: SSE error event, one row', async () => {
  ctx.mock.setHandler(trickle({ sse: true }));
  const id = randomUUID();
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK}`, 'x-request-id': id },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'trickle' }] },
  });
  await withTimeout(s.ended.catch(() => {}), 25_000, 'the trickling stream to be ended by the gateway');
  assert.equal(s.status, 200);
  const last = s.events.at(-1);
  assert.ok(last, `no event at all: ${JSON.stringify(s.text)}`);
  assert.match(last.raw, /^event: error$/m, `last event: ${JSON.stringify(last.raw)}`);
  assert.equal(JSON.parse(last.data).error.code, 'upstream_timeout');
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].error_code, 'upstream_timeout');
});

ctx.test('hung upstreams free their threads at the first-byte timeout: 6 hung requests on 3 threads, then a normal one', async () => {
  const held = [];
  ctx.mock.setHandler((req, res) => { held.push(res); /* accepts, never answers */ });
  try {
    const results = await withTimeout(Promise.all(Array.from({ length: 6 }, () => chat(VK))), 30_000, '6 requests to hung upstreams');
    for (const r of results) assertOpenAIError(r, 504, { code: 'upstream_timeout' });
    // every hung connection was closed by the gateway, none is left holding a thread
    await pollUntil(() => ctx.mock.requests.length === 6 && ctx.mock.requests.every((r) => r.closedByClient), 10_000,
      'the gateway to close all 6 hung upstream connections');
    ctx.mock.resetHandler();
    const ok = await withTimeout(chat(VK), 15_000, 'a normal request after the hung ones');
    assert.equal(ok.status, 200, ok.text);
    const rows = await ctx.gw.waitForLogs((r) => results.some((x) => x.id === r.request_id), { count: 6 });
    assert.deepEqual(rows.map((r) => r.status), Array(6).fill(504));
  } finally {
    for (const r of held) r.destroy();
  }
});

ctx.test('a 500 from the only target is relayed as the provider sent it (no retry)', async () => {
  const body = '{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}';
  ctx.mock.setHandler((req, res) => sendJson(res, 500, body));
  const res = await chat(VK);
  assert.equal(res.status, 500);
  assert.equal(res.text, body);
  assert.equal(ctx.mock.requests.length, 1);
  const row = await ctx.gw.waitForLog((r) => r.request_id === res.id);
  assert.equal(row.status, 500);
});

ctx.test('an upstream that does not speak HTTP → 502, logged', async () => {
  const res = await withTimeout(chat(VK_GARBAGE), 20_000, 'the answer');
  assertOpenAIError(res, 502, { forbidden: [ctx.secret] });
  const row = await ctx.gw.waitForLog((r) => r.request_id === res.id);
  assert.equal(row.status, 502);
});

/** Writes endless bytes (64 KiB pieces, respecting back-pressure) until the gateway hangs up. */
function endless(res, rec, piece) {
  const buf = Buffer.from(piece.repeat(Math.ceil(65536 / piece.length)));
  let sent = 0;
  const pump = () => {
    while (!rec.closedByClient && !res.destroyed && sent < 512 * 1024 * 1024) {
      sent += buf.length;
      if (!res.write(buf)) { res.once('drain', pump); return; }
    }
  };
  pump();
  rec.sent = () => sent;
}

ctx.test('an endless buffered body → 502 once past max_response_bytes, worker memory bounded', async () => {
  const [pid] = workerPids(ctx.gw);
  const before = memOf(pid).rss;
  ctx.mock.setHandler((req, res, rec) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    endless(res, rec, '{"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},');
  });
  const res = await withTimeout(chat(VK), 25_000, 'the answer to an endless body');
  assertOpenAIError(res, 502, { code: 'upstream_bad_response' });
  const [rec] = await ctx.mock.waitForRequests(1);
  await pollUntil(() => rec.closedByClient, 10_000, 'the gateway to close the endless upstream');
  // max_response_bytes is 1 MiB: whatever the provider sends, the worker holds about that much
  const after = memOf(pid);
  assert.ok(after.rss - before < 64 * 1024, `worker RSS grew by ${after.rss - before} KiB`);
});

ctx.test('an endless SSE event (no blank line) → SSE error event, worker memory bounded', async () => {
  const [pid] = workerPids(ctx.gw);
  const before = memOf(pid).rss;
  const id = randomUUID();
  ctx.mock.setHandler((req, res, rec) => {
    sseHead(res);
    sseSend(res, chatChunk('chatcmpl-endless', 'gpt-4o-mini', { content: 'before' }));
    res.write('data: {"choices":[{"delta":{"content":"');
    endless(res, rec, 'y');
  });
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK}`, 'x-request-id': id },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'endless event' }] },
  });
  await withTimeout(s.ended.catch(() => {}), 25_000, 'the endless stream to be ended');
  assert.equal(s.status, 200);
  assert.match(s.events.at(-1).raw, /^event: error$/m, `last: ${s.text.slice(-300)}`);
  assert.equal(JSON.parse(s.events.at(-1).data).error.code, 'upstream_bad_response');
  const after = memOf(pid);
  assert.ok(after.rss - before < 64 * 1024, `worker RSS grew by ${after.rss - before} KiB`);
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].error_code, 'upstream_bad_response');
});

ctx.test('a stream closed cleanly in the middle of an event: SSE error event, usage seen so far logged, one row', async () => {
  ctx.mock.setHandler((req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    sseHead(res);
    sseSend(res, chatChunk('chatcmpl-cut', body.model, { role: 'assistant', content: '' }));
    sseSend(res, chatChunk('chatcmpl-cut', body.model, { content: 'partial answer' }));
    sseSend(res, usageChunk('chatcmpl-cut', body.model, MOCK_STREAM_USAGE));
    res.end('data: {"id":"chatcmpl-cut","choices":[{"delta":{"content":"never fini'); // FIN mid-event
  });
  const id = randomUUID();
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK}`, 'x-request-id': id },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'cut' }] },
  });
  await withTimeout(s.ended.catch(() => {}), 15_000, 'the cut stream');
  assert.equal(s.status, 200);
  assert.ok(!s.events.some((e) => e.data === '[DONE]'), 'a [DONE] the upstream never sent');
  assert.ok(!s.text.includes('never fini'), 'the half event reached the client');
  const last = s.events.at(-1);
  assert.match(last.raw, /^event: error$/m, `last event: ${JSON.stringify(last.raw)}`);
  assert.equal(JSON.parse(last.data).error.code, 'upstream_bad_response');
  assert.equal(streamText(s.events.filter((e) => !/^event: error$/m.test(e.raw))), 'partial answer');
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1, `rows: ${JSON.stringify(rows)}`);
  assert.equal(rows[0].error_code, 'upstream_bad_response');
  assert.equal(rows[0].prompt_tokens, MOCK_STREAM_USAGE.prompt_tokens);
  assert.equal(rows[0].completion_tokens, MOCK_STREAM_USAGE.completion_tokens);
});

ctx.test('a client leaving a stream whose upstream is silent: upstream closed within 2 s, one row', async () => {
  ctx.mock.setHandler((req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    sseHead(res);
    sseSend(res, chatChunk('chatcmpl-silent', body.model, { content: 'thinking…' }));
    // then nothing: the gateway only sends its keep-alive comments
  });
  const id = randomUUID();
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK}`, 'x-request-id': id },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'silent' }] },
  });
  await s.waitForEvent((e) => e.data.includes('thinking'), 10_000, 'the first chunk');
  const [rec] = await ctx.mock.waitForRequests(1);
  await sleep(300);
  const leftAt = Date.now();
  s.destroy();
  await pollUntil(() => rec.closedByClient, 10_000, 'the gateway to close the upstream');
  const took = rec.closedAt - leftAt;
  assert.ok(took <= 2000, `upstream closed ${took} ms after the client left (issue bound: 2 s)`);
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id, { settleMs: 1000 });
  assert.equal(rows.length, 1);
  assert.equal(rows[0].error_code, 'client_disconnected');
  await assertRowsWhole(dbPathOf(ctx.gw), assert);
});
