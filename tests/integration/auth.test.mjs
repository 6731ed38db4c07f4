// Authentication and model access: virtual keys in Authorization or x-api-key, every way a key
// can be wrong, revocation, expiry, and per-key model lists. None of the refused requests may
// reach the upstream, and no error body may carry a secret.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { useGateway } from './lib/suite.mjs';
import { request, rawRequest, chatBody, assertOpenAIError, sha256hex, UUID_RE } from './lib/http.mjs';

let VK;
let VK2;
let VK_LIMITED;

const ctx = useGateway({
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'up', provider: 'openai-compatible', baseUrl: mock.baseUrl, secret });
    VK = await gw.createVk({ name: 'auth-app', providerKey: 'up' });
    VK2 = await gw.createVk({ name: 'auth-app-2', providerKey: 'up' });
    VK_LIMITED = await gw.createVk({ name: 'limited', providerKey: 'up', models: 'gpt-4o-mini' });
    assert.match(VK, /^vk-/);
  },
});

/** Strings no error body may contain. */
function secrets(...extra) {
  return [ctx.secret, VK, sha256hex(VK), VK2, sha256hex(VK2), VK_LIMITED, sha256hex(VK_LIMITED), ...extra];
}

function chat(headers, body = chatBody()) {
  return request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

ctx.test('a valid virtual key in Authorization: Bearer is accepted and replaced by the provider secret', async () => {
  const res = await chat({ authorization: `Bearer ${VK}` });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().object, 'chat.completion');
  assert.equal(ctx.mock.requests.length, 1);
  assert.equal(ctx.mock.requests[0].headers.authorization, `Bearer ${ctx.secret}`);
});

ctx.test('a valid virtual key in x-api-key is accepted and x-api-key is not forwarded', async () => {
  const res = await chat({ 'x-api-key': VK });
  assert.equal(res.status, 200, res.text);
  assert.equal(ctx.mock.requests.length, 1);
  const seen = ctx.mock.requests[0];
  assert.equal(seen.headers.authorization, `Bearer ${ctx.secret}`);
  assert.equal(seen.headers['x-api-key'], undefined);
  for (let i = 1; i < seen.rawHeaders.length; i += 2) assert.ok(!seen.rawHeaders[i].includes(VK), 'vk forwarded upstream');
});

ctx.test('no credentials → 401, nothing sent upstream', async () => {
  const res = await chat({});
  assertOpenAIError(res, 401, { code: 'missing_api_key', forbidden: secrets() });
  assert.equal(ctx.mock.requests.length, 0);
});

const malformed = () => [
  ['empty bearer', { authorization: 'Bearer ' }],
  ['bearer without space', { authorization: 'Bearer' }],
  ['basic scheme', { authorization: 'Basic abc' }],
  ['basic with a vk', { authorization: `Basic ${Buffer.from(VK + ':').toString('base64')}` }],
  ['provider-style key', { authorization: 'Bearer sk-proj-abcdefghijklmnopqrstuvwxyz0123456789' }],
  ['the provider secret itself', { authorization: `Bearer ${ctx.secret}` }],
  ['sql injection 1', { authorization: "Bearer vk-' OR '1'='1" }],
  ['sql injection 2', { authorization: "Bearer vk-x'; DROP TABLE virtual_keys; --" }],
  ['sql injection in x-api-key', { 'x-api-key': "' OR 1=1 --" }],
  ['unknown well-formed key', { authorization: `Bearer vk-${'A'.repeat(43)}` }],
  ['valid key with one character changed', { authorization: `Bearer ${VK.slice(0, -1)}${VK.endsWith('A') ? 'B' : 'A'}` }],
  ['valid key plus a character', { authorization: `Bearer ${VK}A` }],
  ['valid key truncated', { authorization: `Bearer ${VK.slice(0, -1)}` }],
  ['valid key as prefix of a longer value', { authorization: `Bearer ${VK} extra` }],
  ['token of 6 KB', { authorization: `Bearer vk-${'a'.repeat(6 * 1024)}` }],
  ['unknown x-api-key', { 'x-api-key': 'vk-doesnotexist' }],
  ['empty x-api-key', { 'x-api-key': '' }],
];

ctx.test('malformed or unknown keys → 401 with an OpenAI-style error that leaks nothing', async (t) => {
  for (const [name, headers] of malformed()) {
    await t.test(name, async () => {
      ctx.mock.clear();
      const res = await chat(headers);
      // (a truncated valid key is as secret as the key: its first 42 characters must not show)
      assertOpenAIError(res, 401, { forbidden: secrets(VK.slice(0, -1)) });
      assert.equal(ctx.mock.requests.length, 0, 'the request reached the upstream');
    });
  }
});

ctx.test('a 100 KB token is refused before the upstream and without a 5xx', async () => {
  // lighttpd's default header limit (server.max-request-field-size, 8 KiB) may answer this one
  // itself (431) before the gateway sees it; either way it must be refused and leak nothing.
  const token = `vk-${'b'.repeat(100 * 1024)}`;
  const res = await chat({ authorization: `Bearer ${token}` });
  assert.ok([400, 401, 413, 431].includes(res.status), `status ${res.status}: ${res.text.slice(0, 300)}`);
  if (res.status === 401) assertOpenAIError(res, 401, { forbidden: secrets(token.slice(3)) });
  assert.ok(!res.text.includes(ctx.secret));
  assert.equal(ctx.mock.requests.length, 0);
});

ctx.test('Authorization and x-api-key with different keys → 400', async () => {
  const res = await chat({ authorization: `Bearer ${VK}`, 'x-api-key': VK2 });
  assertOpenAIError(res, 400, { code: 'conflicting_api_keys', forbidden: secrets() });
  assert.equal(ctx.mock.requests.length, 0);
  const res2 = await chat({ authorization: `Bearer ${VK}`, 'x-api-key': 'vk-other' });
  assertOpenAIError(res2, 400, { forbidden: secrets() });
  assert.equal(ctx.mock.requests.length, 0);
});

ctx.test('a revoked key → 401', async () => {
  const tok = await ctx.gw.createVk({ name: 'to-revoke', providerKey: 'up' });
  const ok = await chat({ authorization: `Bearer ${tok}` });
  assert.equal(ok.status, 200, ok.text);
  await ctx.gw.ctl(['vk', 'revoke', 'to-revoke']);
  ctx.mock.clear();
  const res = await chat({ authorization: `Bearer ${tok}` });
  assertOpenAIError(res, 401, { code: 'revoked_api_key', forbidden: secrets(tok, sha256hex(tok)) });
  assert.equal(ctx.mock.requests.length, 0);
});

ctx.test('an expired key → 401', async (t) => {
  const expiresAt = new Date(Date.now() + 3000);
  const iso = expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
  let tok;
  try {
    tok = await ctx.gw.createVk({ name: 'expiring', providerKey: 'up', expires: iso });
  } catch (e) {
    t.skip(`alephantctl refused a key expiring in 3 s (${e.message.split('\n')[0]})`);
    return;
  }
  while (Date.now() < expiresAt.getTime() + 1500) await sleep(100);
  const res = await chat({ authorization: `Bearer ${tok}` });
  assertOpenAIError(res, 401, { code: 'expired_api_key', forbidden: secrets(tok, sha256hex(tok)) });
  assert.equal(ctx.mock.requests.length, 0);
});

ctx.test('a model outside the key\'s list → 403 model_not_allowed; the allowed one passes', async () => {
  const res = await chat({ authorization: `Bearer ${VK_LIMITED}` }, chatBody({ model: 'gpt-4o' }));
  assertOpenAIError(res, 403, { code: 'model_not_allowed', forbidden: secrets() });
  assert.equal(ctx.mock.requests.length, 0);
  const ok = await chat({ authorization: `Bearer ${VK_LIMITED}` }, chatBody({ model: 'gpt-4o-mini' }));
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ctx.mock.requests.length, 1);
});

ctx.test('a JSON request without a model for a key limited to some models → 400', async () => {
  const body = chatBody();
  delete body.model;
  const res = await chat({ authorization: `Bearer ${VK_LIMITED}` }, body);
  assertOpenAIError(res, 400, { code: 'model_required', forbidden: secrets() });
  assert.equal(ctx.mock.requests.length, 0);
});

ctx.test('failed authentications are logged with status 401 and no virtual key', async () => {
  const id = randomUUID();
  const res = await chat({ authorization: 'Bearer vk-nope', 'x-request-id': id });
  assertOpenAIError(res, 401);
  if (res.headers['alephant-id'] !== undefined) assert.match(res.headers['alephant-id'], UUID_RE);
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1, JSON.stringify(rows));
  const row = rows[0];
  assert.equal(row.status, 401);
  assert.equal(row.virtual_key ?? null, null);
  assert.equal(row.path, '/v1/chat/completions');
  assert.equal(row.method, 'POST');
  assert.equal(row.client_ip, '127.0.0.1');
  const dump = JSON.stringify(row);
  for (const s of secrets()) assert.ok(!dump.includes(s), 'log row leaks a secret');
});

ctx.test('repeated Authorization or x-api-key headers are refused, never half-used', async (t) => {
  const body = JSON.stringify(chatBody());
  const cases = [
    ['valid then invalid Authorization', [`Authorization: Bearer ${VK}`, 'Authorization: Bearer vk-other']],
    ['invalid then valid Authorization', ['Authorization: Bearer vk-other', `Authorization: Bearer ${VK}`]],
    ['two different valid keys', [`Authorization: Bearer ${VK}`, `Authorization: Bearer ${VK2}`]],
    ['two x-api-key headers', [`x-api-key: ${VK}`, `x-api-key: ${VK2}`]],
  ];
  for (const [name, lines] of cases) {
    await t.test(name, async () => {
      ctx.mock.clear();
      const raw = [
        'POST /v1/chat/completions HTTP/1.1',
        `Host: 127.0.0.1:${ctx.gw.port}`,
        'Content-Type: application/json',
        ...lines,
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Connection: close',
        '', body,
      ].join('\r\n');
      const res = await rawRequest(ctx.gw.port, raw);
      assert.ok([400, 401].includes(res.status), `status ${res.status}: ${res.text.slice(0, 300)}`);
      assertOpenAIError(res, res.status, { forbidden: secrets() });
      assert.equal(ctx.mock.requests.length, 0);
    });
  }
});

ctx.test('a model-restricted key cannot reach a forbidden model by not calling the body JSON', async (t) => {
  // The upstream parses the JSON whatever the label says; the key's model list must hold anyway:
  // refused (4xx), or at least never forwarded with the forbidden model.
  const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'sneaky' }] });
  for (const [name, ct] of [['text/plain', 'text/plain'], ['no Content-Type', null],
    ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'], ['text/json', 'text/json']]) {
    await t.test(name, async () => {
      ctx.mock.clear();
      const raw = [
        'POST /v1/chat/completions HTTP/1.1', `Host: 127.0.0.1:${ctx.gw.port}`,
        `Authorization: Bearer ${VK_LIMITED}`, ...(ct ? [`Content-Type: ${ct}`] : []),
        `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', body,
      ].join('\r\n');
      const res = await rawRequest(ctx.gw.port, raw);
      assert.deepEqual(ctx.mock.requests.map((r) => r.body.toString()), [],
        `a body naming gpt-4o reached the upstream for a key limited to gpt-4o-mini (client got ${res.status})`);
      assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
      assertOpenAIError(res, res.status, { forbidden: secrets() });
    });
  }
});

ctx.test('no secret is stored or printed in clear: database, state files, alephantctl listings', async () => {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const needles = [ctx.secret, VK, VK2, VK_LIMITED];
  // let the log writer commit what the tests above did
  await sleep(500);
  for (const f of await fs.readdir(ctx.gw.stateDir)) {
    const full = path.join(ctx.gw.stateDir, f);
    const st = await fs.stat(full);
    if (!st.isFile()) continue;
    const data = await fs.readFile(full);
    for (const n of needles) {
      assert.ok(!data.includes(Buffer.from(n)), `${f} contains a secret in clear (${n.slice(0, 6)}…)`);
    }
  }
  for (const args of [['provider-key', 'list'], ['provider-key', 'list', '--json'], ['vk', 'list'], ['vk', 'list', '--json'],
    ['logs', 'list', '--limit', '1000'], ['logs', 'list', '--limit', '1000', '--json']]) {
    const out = await ctx.gw.ctl(args);
    for (const n of needles) assert.ok(!out.includes(n), `alephantctl ${args.join(' ')} prints a secret`);
    for (const n of [VK, VK2, VK_LIMITED]) assert.ok(!out.includes(sha256hex(n)), `alephantctl ${args.join(' ')} prints a token hash`);
  }
});
