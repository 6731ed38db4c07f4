// Forwarding: a non-streaming round trip through lighttpd and the gateway to the mock upstream.
// What the upstream sees (credentials swapped, gateway-only and private headers gone, body
// byte-for-byte, query string kept) and what the client gets back (the upstream's answer,
// alephant-id, upstream errors relayed as they are).

import assert from 'node:assert/strict';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { useGateway } from './lib/suite.mjs';
import { request, rawRequest, sha256hex, UUID_RE } from './lib/http.mjs';
import { chatCompletion, sendJson, MOCK_MODELS } from './lib/mock-upstream.mjs';

let VK;

const ctx = useGateway({
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'up', provider: 'openai-compatible', baseUrl: mock.baseUrl, secret });
    VK = await gw.createVk({ name: 'proxy-app', providerKey: 'up' });
  },
});

// Unusual whitespace, key order, escapes and non-ASCII: must arrive exactly like this.
const ODD_BODY = '{ "messages" :[ {"content":"h\\u00e9llo \u00fcn\u00efc\u00f6de \ud83d\ude00 \\"quoted\\"","role":"user"} ],\n\t"temperature" :0.50 ,"n":1,   "model":"gpt-4o-mini"  ,"metadata":{"z":1,"a":[ ]}}\n';

ctx.test('a chat completion round-trips: answer relayed, credentials swapped, body byte-for-byte', async () => {
  const answer = JSON.stringify(chatCompletion('gpt-4o-mini', { content: 'exact answer bytes \u00e9' }), null, 2) + '\n';
  ctx.mock.setHandler((req, res) => sendJson(res, 200, answer, { 'x-request-id': 'req_mock_roundtrip' }));
  const clientId = randomUUID();
  const res = await request(ctx.gw.base, {
    method: 'POST',
    path: '/v1/chat/completions',
    headers: {
      authorization: `Bearer ${VK}`,
      'content-type': 'application/json',
      'user-agent': 'alephant-it/1.0',
      'x-request-id': clientId,
      'alephant-session-id': 'sess-1',
      'alephant-session-path': '/checkout/retry',
      'alephant-session-name': 'Checkout',
      'alephant-property-environment': 'test',
      'alephant-omit-request': 'false',
      'Alephant-Cache-Enabled': 'false',
      'x-alephant-country-code': 'DE',
      'x-forwarded-for': '203.0.113.7, 10.0.0.1',
      'x-real-ip': '203.0.113.7',
      forwarded: 'for=203.0.113.7',
      cookie: 'session=abc; other=def',
      'cf-ipcountry': 'US',
      'cf-connecting-ip': '203.0.113.7',
      referer: 'https://example.test/page',
      'api-key': 'azure-style-key',
      'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
      via: '1.1 some-proxy',
      'accept-encoding': 'gzip, br',
    },
    body: ODD_BODY,
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.text, answer, 'client did not get the upstream body as it was');
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.match(String(res.headers['alephant-id']), UUID_RE);
  assert.equal(res.headers['alephant-id'], clientId);

  assert.equal(ctx.mock.requests.length, 1);
  const seen = ctx.mock.requests[0];
  assert.equal(seen.method, 'POST');
  assert.equal(seen.url, '/v1/chat/completions');
  assert.equal(seen.headers.authorization, `Bearer ${ctx.secret}`);
  assert.match(String(seen.headers['content-type']), /^application\/json/);
  assert.ok(seen.body.equals(Buffer.from(ODD_BODY, 'utf8')),
    `body changed on the way:\n sent ${JSON.stringify(ODD_BODY)}\n got  ${JSON.stringify(seen.body.toString('utf8'))}`);

  const names = [];
  for (let i = 0; i < seen.rawHeaders.length; i += 2) {
    const name = seen.rawHeaders[i].toLowerCase();
    const value = seen.rawHeaders[i + 1];
    names.push(name);
    assert.ok(!value.includes(VK), `header ${name} carries the virtual key`);
    assert.ok(!value.includes(sha256hex(VK)), `header ${name} carries the virtual key hash`);
    assert.ok(!name.startsWith('alephant-'), `gateway-only header forwarded: ${name}`);
    assert.ok(!name.startsWith('x-alephant-'), `gateway-only header forwarded: ${name}`);
    assert.ok(!name.startsWith('cf-'), `cf- header forwarded: ${name}`);
  }
  for (const h of ['x-request-id', 'x-forwarded-for', 'x-real-ip', 'forwarded', 'cookie', 'cf-ipcountry', 'x-api-key',
    'api-key', 'proxy-authorization', 'via']) {
    assert.ok(!names.includes(h), `${h} forwarded upstream (headers: ${names.join(', ')})`);
  }
  assert.equal(names.filter((n) => n === 'authorization').length, 1, 'exactly one authorization header upstream');
  assert.notEqual(seen.headers['accept-encoding'], 'gzip, br', 'the client\'s Accept-Encoding was forwarded');
  assert.ok(!seen.body.includes(VK), 'body carries the virtual key');
});

ctx.test('the query string is forwarded: GET /v1/models?x=1', async () => {
  const res = await request(ctx.gw.base, { path: '/v1/models?x=1&y=a%20b', headers: { authorization: `Bearer ${VK}` } });
  assert.equal(res.status, 200, res.text);
  const j = res.json();
  assert.equal(j.object, 'list');
  assert.deepEqual(j.data.map((m) => m.id), [...MOCK_MODELS]);
  assert.equal(ctx.mock.requests.length, 1);
  assert.equal(ctx.mock.requests[0].method, 'GET');
  assert.equal(ctx.mock.requests[0].url, '/v1/models?x=1&y=a%20b');
  assert.equal(ctx.mock.requests[0].headers.authorization, `Bearer ${ctx.secret}`);
});

ctx.test('an upstream error is relayed with its status and body', async () => {
  const errBody = '{"error":{"message":"mock says no","type":"invalid_request_error","param":"messages","code":"mock_bad_request"}}';
  ctx.mock.setHandler((req, res) => sendJson(res, 400, errBody));
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
  });
  assert.equal(res.status, 400);
  assert.equal(res.text, errBody);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.equal(ctx.mock.requests.length, 1);
});

ctx.test('an upstream 429 is relayed with retry-after and rate-limit headers', async () => {
  const errBody = '{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}';
  ctx.mock.setHandler((req, res) => sendJson(res, 429, errBody, {
    'retry-after': '7',
    'x-ratelimit-remaining-requests': '0',
    'set-cookie': 'upstream=secret',
  }));
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(res.status, 429);
  assert.equal(res.text, errBody);
  assert.equal(res.headers['retry-after'], '7');
  assert.equal(res.headers['x-ratelimit-remaining-requests'], '0');
  assert.equal(res.headers['set-cookie'], undefined, 'upstream set-cookie relayed to the client');
});

ctx.test('an upper-case UUID x-request-id becomes the log id, in canonical lower case', async () => {
  const id = randomUUID();
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json', 'x-request-id': id.toUpperCase() },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'upper' }] }),
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers['alephant-id'], id);
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].status, 200);
  assert.equal(rows[0].client_request_id ?? null, null);
});

ctx.test('a non-UUID x-request-id gets a fresh UUID and is kept as client_request_id', async () => {
  const given = `my-correlation-${randomUUID().slice(0, 8)}`;
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json', 'x-request-id': given },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'non-uuid' }] }),
  });
  assert.equal(res.status, 200, res.text);
  const aid = res.headers['alephant-id'];
  assert.match(String(aid), UUID_RE);
  const rows = await ctx.gw.settledLogs((r) => r.client_request_id === given);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].request_id, aid);
  assert.equal(ctx.mock.requests[0].headers['x-request-id'], undefined);
});

ctx.test('without x-request-id the answer still carries a fresh alephant-id that names the log row', async () => {
  const marker = `no-id-${randomUUID()}`;
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: marker }] }),
  });
  assert.equal(res.status, 200, res.text);
  const aid = res.headers['alephant-id'];
  assert.match(String(aid), UUID_RE);
  const row = await ctx.gw.waitForLog((r) => r.request_id === aid);
  assert.ok(String(row.request_body).includes(marker));
});

ctx.test('a chunked upload reaches the upstream whole, with a Content-Length', async () => {
  const parts = ['{"model":"gpt-4o-mini",', '"messages":[{"role":"user",', '"content":"chunked upload"}]}'];
  const res = await new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: ctx.gw.port, method: 'POST', path: '/v1/chat/completions',
      headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    (async () => {
      for (const p of parts) { req.write(p); await sleep(50); }
      req.end();
    })();
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(ctx.mock.requests.length, 1);
  const seen = ctx.mock.requests[0];
  assert.equal(seen.body.toString(), parts.join(''));
  assert.equal(seen.headers['content-length'], String(Buffer.byteLength(parts.join(''))));
  assert.equal(seen.headers['transfer-encoding'], undefined);
});

ctx.test('the gateway does not invent a Content-Type the client did not send', async () => {
  const body = '{"model":"gpt-4o-mini","messages":[]}';
  const raw = [
    'POST /v1/chat/completions HTTP/1.1', `Host: 127.0.0.1:${ctx.gw.port}`, `Authorization: Bearer ${VK}`,
    `Content-Length: ${body.length}`, 'Connection: close', '', body,
  ].join('\r\n');
  const res = await rawRequest(ctx.gw.port, raw);
  assert.equal(res.status, 200, res.text);
  assert.equal(ctx.mock.requests.length, 1);
  assert.equal(ctx.mock.requests[0].headers['content-type'], undefined,
    `upstream got Content-Type ${ctx.mock.requests[0].headers['content-type']}`);
  assert.equal(ctx.mock.requests[0].body.toString(), body);
});

ctx.test('other content types are passed through with their body', async () => {
  const body = '--XyZ\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--XyZ--\r\n';
  ctx.mock.setHandler((req, res) => sendJson(res, 200, { text: 'transcribed' }));
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/audio/transcriptions',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'multipart/form-data; boundary=XyZ' },
    body,
  });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), { text: 'transcribed' });
  assert.equal(ctx.mock.requests[0].url, '/v1/audio/transcriptions');
  assert.equal(ctx.mock.requests[0].headers['content-type'], 'multipart/form-data; boundary=XyZ');
  assert.equal(ctx.mock.requests[0].body.toString('latin1'), body);
});

ctx.test('responses name the provider and its request id (response_headers default on)', async () => {
  ctx.mock.setHandler((req, res) => sendJson(res, 200, chatCompletion('gpt-4o-mini'), { 'x-request-id': 'req_mock_provider_hdr' }));
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers['alephant-provider'], 'openai-compatible');
  assert.equal(res.headers['alephant-provider-req-id'], 'req_mock_provider_hdr');
  // nothing that could carry credentials or upstream cookies comes back
  assert.ok(!JSON.stringify(res.headers).includes(ctx.secret));
  assert.ok(!JSON.stringify(res.headers).includes(VK));
});

ctx.test('DELETE is forwarded with its path', async () => {
  ctx.mock.setHandler((req, res) => sendJson(res, 200, { id: 'file-abc', object: 'file', deleted: true }));
  const res = await request(ctx.gw.base, { method: 'DELETE', path: '/v1/files/file-abc', headers: { authorization: `Bearer ${VK}` } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().deleted, true);
  assert.equal(ctx.mock.requests.length, 1);
  assert.equal(ctx.mock.requests[0].method, 'DELETE');
  assert.equal(ctx.mock.requests[0].url, '/v1/files/file-abc');
  assert.equal(ctx.mock.requests[0].headers.authorization, `Bearer ${ctx.secret}`);
});

ctx.test('upstream redirects are not followed', async () => {
  ctx.mock.setHandler((req, res, rec) => {
    if (rec.url.startsWith('/v1/elsewhere')) return sendJson(res, 200, { followed: true });
    res.writeHead(307, { location: `${ctx.mock.origin}/v1/elsewhere`, 'content-type': 'application/json' });
    res.end('{}');
  });
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
  });
  assert.deepEqual(ctx.mock.requests.map((r) => r.url), ['/v1/chat/completions'], 'the gateway followed the redirect');
  assert.ok(!res.text.includes('followed'));
  assert.notEqual(res.status, 200);
});

ctx.test('a 200 answer that is not JSON is still relayed as it is, and logged without tokens', async () => {
  const odd = 'this is not json {';
  ctx.mock.setHandler((req, res) => sendJson(res, 200, odd));
  const id = randomUUID();
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json', 'x-request-id': id },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
  });
  assert.equal(res.status, 200);
  assert.equal(res.text, odd);
  const row = await ctx.gw.waitForLog((r) => r.request_id === id);
  assert.equal(row.status, 200);
  assert.ok(row.prompt_tokens === null || row.prompt_tokens === -1, `prompt_tokens ${row.prompt_tokens}`);
});
