// Request logs: one row per request with the fields an operator reads (alephantctl logs list),
// and 50 concurrent requests over 2 worker processes × 8 threads, all answered and all logged.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { useGateway } from './lib/suite.mjs';
import { request, rawRequest, sha256hex, UUID_RE } from './lib/http.mjs';
import { chatCompletion, sendJson, MOCK_USAGE, MOCK_TEXT } from './lib/mock-upstream.mjs';

let VK;
let VK_LIMITED;

const ctx = useGateway({
  gateway: { processes: 2, threads: 8, env: { ALEPHANT_LOGGING_BODY_MAX_BYTES: '4096' } },
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'up-log', provider: 'openai-compatible', baseUrl: mock.baseUrl, secret });
    VK = await gw.createVk({ name: 'log-app', providerKey: 'up-log', department: 'research', agent: 'bot-1' });
    VK_LIMITED = await gw.createVk({ name: 'log-limited', providerKey: 'up-log', models: 'gpt-4o-mini' });
  },
});

ctx.test('a chat completion is logged once with every field', async () => {
  const id = randomUUID();
  const marker = `log-marker-${randomUUID()}`;
  ctx.mock.setHandler((req, res) => sendJson(res, 200, chatCompletion('gpt-4o-mini'), { 'x-request-id': 'req_mock_logfields' }));
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: marker }] });
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: {
      authorization: `Bearer ${VK}`, 'content-type': 'application/json',
      'x-request-id': id, 'user-agent': 'alephant-it-logging/2.0',
    },
    body,
  });
  assert.equal(res.status, 200, res.text);
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1, JSON.stringify(rows));
  const row = rows[0];
  assert.equal(row.request_id, id);
  assert.equal(row.status, 200);
  assert.equal(row.model, 'gpt-4o-mini');
  assert.equal(row.path, '/v1/chat/completions');
  assert.equal(row.method, 'POST');
  assert.equal(row.provider, 'openai-compatible');
  assert.equal(row.provider_key, 'up-log');
  assert.equal(row.virtual_key, 'log-app');
  assert.equal(row.department, 'research');
  assert.equal(row.agent, 'bot-1');
  assert.equal(row.prompt_tokens, MOCK_USAGE.prompt_tokens);
  assert.equal(row.completion_tokens, MOCK_USAGE.completion_tokens);
  assert.equal(row.total_tokens, MOCK_USAGE.total_tokens);
  assert.equal(typeof row.latency_ms, 'number');
  assert.ok(row.latency_ms >= 0, `latency_ms ${row.latency_ms}`);
  assert.ok(row.stream === false || row.stream === 0, `stream ${row.stream}`);
  assert.equal(row.error_code ?? null, null);
  assert.ok(String(row.request_body).includes(marker), `request_body: ${row.request_body}`);
  assert.ok(String(row.response_body).includes(MOCK_TEXT), `response_body: ${row.response_body}`);
  assert.equal(row.user_agent, 'alephant-it-logging/2.0');
  assert.equal(row.client_ip, '127.0.0.1');
  assert.equal(row.upstream_request_id, 'req_mock_logfields');
  assert.equal(row.client_request_id ?? null, null);
  const dump = JSON.stringify(row);
  for (const s of [ctx.secret, VK, sha256hex(VK)]) assert.ok(!dump.includes(s), 'log row leaks a secret');
});

ctx.test('a GET is logged with its query string and no model', async () => {
  const id = randomUUID();
  const res = await request(ctx.gw.base, { path: '/v1/models?limit=5', headers: { authorization: `Bearer ${VK}`, 'x-request-id': id } });
  assert.equal(res.status, 200, res.text);
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].method, 'GET');
  assert.equal(rows[0].path, '/v1/models?limit=5');
  assert.equal(rows[0].status, 200);
  assert.equal(rows[0].virtual_key, 'log-app');
});

ctx.test('a request refused for its key is logged with status 401 and no virtual key', async () => {
  const id = randomUUID();
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json', 'x-request-id': id },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
  });
  assert.equal(res.status, 401);
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].status, 401);
  assert.equal(rows[0].virtual_key ?? null, null);
  assert.equal(typeof rows[0].error_code, 'string');
});

ctx.test('50 concurrent requests all succeed and give 50 log rows', async () => {
  const ids = Array.from({ length: 50 }, () => randomUUID());
  const results = await Promise.all(ids.map((id, i) => request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json', 'x-request-id': id },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `concurrent ${i}` }] }),
    timeoutMs: 60_000,
  })));
  const bad = results.map((r, i) => [i, r.status, r.text.slice(0, 200)]).filter(([, st]) => st !== 200);
  assert.deepEqual(bad, [], 'some concurrent requests failed');
  for (const [i, r] of results.entries()) {
    assert.equal(r.json().object, 'chat.completion');
    assert.equal(r.headers['alephant-id'], ids[i]);
  }
  assert.equal(ctx.mock.requests.length, 50);
  const want = new Set(ids);
  await ctx.gw.waitForLogs((r) => want.has(r.request_id), { count: 50, timeoutMs: 30_000 });
  const rows = (await ctx.gw.logs(1000)).filter((r) => want.has(r.request_id));
  assert.equal(rows.length, 50);
  assert.equal(new Set(rows.map((r) => r.request_id)).size, 50, 'duplicate log rows');
  for (const r of rows) {
    assert.equal(r.status, 200);
    assert.equal(r.prompt_tokens, MOCK_USAGE.prompt_tokens);
  }
});

ctx.test('a refused model is logged once with its key, status 403 and model_not_allowed', async () => {
  const id = randomUUID();
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK_LIMITED}`, 'content-type': 'application/json', 'x-request-id': id },
    body: JSON.stringify({ model: 'gpt-4o', messages: [] }),
  });
  assert.equal(res.status, 403);
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].status, 403);
  assert.equal(rows[0].error_code, 'model_not_allowed');
  assert.equal(rows[0].virtual_key, 'log-limited');
  assert.equal(rows[0].model, 'gpt-4o');
  assert.equal(ctx.mock.requests.length, 0);
});

ctx.test('a reused x-request-id keeps both rows under the same request_id', async () => {
  const id = randomUUID();
  for (let i = 0; i < 2; i++) {
    const res = await request(ctx.gw.base, {
      method: 'POST', path: '/v1/chat/completions',
      headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json', 'x-request-id': id },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `reuse ${i}` }] }),
    });
    assert.equal(res.status, 200, res.text);
  }
  const rows = await ctx.gw.waitForLogs((r) => r.request_id === id, { count: 2 });
  assert.equal(rows.length, 2);
});

ctx.test('the client IP is the peer address, not a client-supplied X-Forwarded-For', async () => {
  const id = randomUUID();
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json', 'x-request-id': id, 'x-forwarded-for': '203.0.113.9' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
  });
  assert.equal(res.status, 200, res.text);
  const row = await ctx.gw.waitForLog((r) => r.request_id === id);
  assert.equal(row.client_ip, '127.0.0.1');
});

ctx.test('bodies in the log are cut at body_max_bytes (4096 here) and marked truncated; the upstream gets all', async () => {
  const id = randomUUID();
  const big = 'z'.repeat(10_000);
  ctx.mock.setHandler((req, res) => sendJson(res, 200, chatCompletion('gpt-4o-mini', { content: 'w'.repeat(10_000) })));
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: big }] });
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json', 'x-request-id': id },
    body,
  });
  assert.equal(res.status, 200, res.text);
  assert.ok(res.text.includes('w'.repeat(10_000)), 'the client got a cut answer');
  assert.equal(ctx.mock.requests[0].body.toString(), body);
  const row = await ctx.gw.waitForLog((r) => r.request_id === id);
  assert.ok(row.request_truncated === true || row.request_truncated === 1, `request_truncated ${row.request_truncated}`);
  assert.ok(row.response_truncated === true || row.response_truncated === 1, `response_truncated ${row.response_truncated}`);
  assert.ok(Buffer.byteLength(row.request_body) <= 4096, `request_body ${Buffer.byteLength(row.request_body)} bytes`);
  assert.ok(Buffer.byteLength(row.response_body) <= 4096, `response_body ${Buffer.byteLength(row.response_body)} bytes`);
  assert.ok(row.request_body.startsWith('{"model":"gpt-4o-mini"'));
  // tokens still come from the whole answer
  assert.equal(row.prompt_tokens, MOCK_USAGE.prompt_tokens);
});

ctx.test('x-request-id in other RFC 4122 forms (braces, urn:uuid:, no hyphens, upper case) is canonicalised', async () => {
  for (const make of [(u) => `{${u.toUpperCase()}}`, (u) => `urn:uuid:${u}`, (u) => u.replace(/-/g, ''), (u) => u.toUpperCase()]) {
    const id = randomUUID();
    const res = await request(ctx.gw.base, {
      method: 'POST', path: '/v1/chat/completions',
      headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json', 'x-request-id': make(id) },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['alephant-id'], id, `for x-request-id ${make(id)}`);
    const row = await ctx.gw.waitForLog((r) => r.request_id === id);
    assert.equal(row.client_request_id ?? null, null);
  }
});

ctx.test('header values that are not UTF-8 do not break the request or the log listing', async () => {
  const marker = `latin1-${randomUUID()}`;
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: marker }] });
  const raw = Buffer.concat([
    Buffer.from(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${VK}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n`),
    Buffer.from('X-Request-Id: caf\xe9-\xff\r\nUser-Agent: agent-\xe9\xfe\r\nalephant-property-x: \xe9t\xe9\r\n\r\n', 'latin1'),
    Buffer.from(body),
  ]);
  const res = await rawRequest(ctx.gw.port, raw);
  assert.equal(res.status, 200, res.text);
  assert.match(String(res.headers['alephant-id']), UUID_RE);
  // logs list --json must still produce valid JSON including this row
  const row = await ctx.gw.waitForLog((r) => r.request_id === res.headers['alephant-id']);
  assert.equal(row.status, 200);
  assert.ok(String(row.request_body).includes(marker));
});
