// Errors the gateway answers itself, as OpenAI-style JSON: bad JSON (400), a body over the
// configured limit (413), an upstream that cannot be reached (502) and one that never answers
// (504). None of the first two reaches the upstream; each is logged with its status.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { useGateway } from './lib/suite.mjs';
import { request, rawRequest, assertOpenAIError, sha256hex, withTimeout } from './lib/http.mjs';
import { freePort } from './lib/gateway.mjs';

let VK;
let VK_DEAD;

const ctx = useGateway({
  gateway: {
    env: {
      ALEPHANT_GATEWAY_MAX_REQUEST_BYTES: '1024',
      ALEPHANT_UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '1000',
      ALEPHANT_UPSTREAM_CONNECT_TIMEOUT_MS: '3000',
      ALEPHANT_GATEWAY_MAX_RESPONSE_BYTES: '8192',
    },
  },
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'up', provider: 'openai-compatible', baseUrl: mock.baseUrl, secret });
    VK = await gw.createVk({ name: 'err-app', providerKey: 'up' });
    const closed = await freePort();
    await gw.addProviderKey({ name: 'dead', provider: 'openai-compatible', baseUrl: `http://127.0.0.1:${closed}/v1`, secret: secret + '-dead' });
    VK_DEAD = await gw.createVk({ name: 'dead-app', providerKey: 'dead' });
  },
});

const forbidden = () => [ctx.secret, VK, sha256hex(VK), VK_DEAD];

function post(key, body, headers = {}) {
  return request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body,
  });
}

ctx.test('invalid JSON → 400 invalid_json, nothing sent upstream', async () => {
  const id = randomUUID();
  const res = await post(VK, '{"model": "gpt-4o-mini", "messages": [', { 'x-request-id': id });
  assertOpenAIError(res, 400, { code: 'invalid_json', forbidden: forbidden() });
  assert.equal(ctx.mock.requests.length, 0);
  const row = await ctx.gw.waitForLog((r) => r.request_id === id);
  assert.equal(row.status, 400);
  assert.equal(row.error_code, 'invalid_json');
});

ctx.test('other bodies that are not a JSON object → 400 invalid_json', async (t) => {
  for (const [name, body] of [['trailing garbage', '{"model":"gpt-4o-mini"} x'], ['array', '[1,2]'],
    ['duplicate keys', '{"model":"gpt-4o-mini","model":"gpt-4o"}'], ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
    ['a string', '"gpt-4o-mini"'], ['null', 'null'], ['model not a string', '{"model":42,"messages":[]}'],
    ['stream not a boolean', '{"model":"gpt-4o-mini","stream":"yes","messages":[]}']]) {
    await t.test(name, async () => {
      ctx.mock.clear();
      const res = await post(VK, body);
      assertOpenAIError(res, 400, { code: 'invalid_json', forbidden: forbidden() });
      assert.equal(ctx.mock.requests.length, 0);
    });
  }
});

ctx.test('an empty body declared as application/json → 400 invalid_json, nothing sent upstream', async () => {
  const res = await post(VK, '');
  assertOpenAIError(res, 400, { code: 'invalid_json', forbidden: forbidden() });
  assert.equal(ctx.mock.requests.length, 0);
});

ctx.test('a body over the limit (1024 bytes here) → 413, nothing sent upstream', async () => {
  const id = randomUUID();
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(2048) }] });
  assert.ok(body.length > 2048);
  const res = await post(VK, body, { 'x-request-id': id });
  assertOpenAIError(res, 413, { code: 'request_too_large', forbidden: forbidden() });
  assert.equal(ctx.mock.requests.length, 0);
  const row = await ctx.gw.waitForLog((r) => r.request_id === id);
  assert.equal(row.status, 413);
});

ctx.test('a body just under the limit is forwarded', async () => {
  const base = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: '' }] });
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'y'.repeat(1000 - base.length) }] });
  assert.ok(body.length <= 1024);
  const res = await post(VK, body);
  assert.equal(res.status, 200, res.text);
  assert.equal(ctx.mock.requests.length, 1);
});

ctx.test('an upstream that refuses connections → 502, logged', async () => {
  const id = randomUUID();
  const res = await withTimeout(post(VK_DEAD, JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }), { 'x-request-id': id }), 20_000, '502 answer');
  assertOpenAIError(res, 502, { code: 'upstream_unreachable', forbidden: [...forbidden(), ctx.secret + '-dead'] });
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].status, 502);
  assert.equal(rows[0].virtual_key, 'dead-app');
});

ctx.test('an upstream that never answers → 504 after the first-byte timeout, logged', async () => {
  const pending = [];
  ctx.mock.setHandler((req, res) => { pending.push(res); /* never answers */ });
  const id = randomUUID();
  try {
    const res = await withTimeout(post(VK, JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello?' }] }), { 'x-request-id': id }), 20_000, '504 answer');
    assertOpenAIError(res, 504, { code: 'upstream_timeout', forbidden: forbidden() });
    assert.equal(ctx.mock.requests.length, 1);
    const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].status, 504);
  } finally {
    for (const r of pending) r.destroy();
  }
});

ctx.test('a stream whose upstream never answers → 504 as JSON', async () => {
  const pending = [];
  ctx.mock.setHandler((req, res) => { pending.push(res); });
  try {
    const res = await withTimeout(post(VK, JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hello?' }] })), 20_000, '504 answer');
    assertOpenAIError(res, 504, { forbidden: forbidden() });
  } finally {
    for (const r of pending) r.destroy();
  }
});

ctx.test('an upstream answer over the response limit (8192 bytes here) → 502 upstream_bad_response', async () => {
  ctx.mock.setHandler((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'chat.completion', pad: 'x'.repeat(20_000) }));
  });
  const res = await post(VK, JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'big' }] }));
  assertOpenAIError(res, 502, { code: 'upstream_bad_response', forbidden: forbidden() });
});

ctx.test('other methods → 405, paths with tricks → 404, as JSON and never upstream', async (t) => {
  const cases = [
    ['PUT', '/v1/chat/completions', 405, 'method_not_allowed'],
    ['PATCH', '/v1/models', 405, 'method_not_allowed'],
    ['GET', '/v1//models', 404, 'not_found'],
    ['GET', '/v1/models%2f..%2fadmin', 404, 'not_found'],
    ['GET', '/v1/models;x=1', 404, 'not_found'],
    ['GET', '/v1/./models', 404, 'not_found'],
  ];
  for (const [method, path, status, code] of cases) {
    await t.test(`${method} ${path}`, async () => {
      ctx.mock.clear();
      const raw = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${VK}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
      const res = await rawRequest(ctx.gw.port, raw);
      // lighttpd itself may normalise or refuse some paths first (then the answer is not ours);
      // what matters most is that nothing reaches the provider.
      assert.equal(ctx.mock.requests.length, 0, `${method} ${path} reached the upstream as ${ctx.mock.requests[0]?.url}`);
      assertOpenAIError(res, status, { code, forbidden: forbidden() });
    });
  }
});
