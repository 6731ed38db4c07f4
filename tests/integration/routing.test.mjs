// Routing over a virtual key's provider targets: fallback to the next target on a connect error,
// a timeout before the first byte, 429 or 5xx (never once a streamed byte reached the client),
// 4xx relayed; the attempt bound; alephant-forced-routing; weighted load balancing among equal
// priorities; per-target model maps; the attempts recorded in the log row.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { useGateway } from './lib/suite.mjs';
import { freePort } from './lib/gateway.mjs';
import { request, streamRequest, streamText, assertOpenAIError, withTimeout } from './lib/http.mjs';
import { chatCompletion, chatChunk, sendJson, sseHead, sseSend, streamDefault, createGate } from './lib/mock-upstream.mjs';

// Targets: pa → mock A (openai-compatible), pb → mock B (kind openai), pc → mock C
// (openai-compatible), pa2 → mock A again; dead → a closed port; claude → an anthropic key that
// no routing key below uses.
const VK = {};

const ctx = useGateway({
  mocks: 3,
  gateway: {
    env: {
      ALEPHANT_UPSTREAM_RETRY_BACKOFF_MS: '10',
      ALEPHANT_UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '3000',
    },
  },
  async setup({ gw, mocks, secret }) {
    const [a, b, c] = mocks;
    await gw.addProviderKey({ name: 'pa', provider: 'openai-compatible', baseUrl: a.baseUrl, secret: secret + '-a' });
    await gw.addProviderKey({ name: 'pb', provider: 'openai', baseUrl: b.baseUrl, secret: secret + '-b' });
    await gw.addProviderKey({ name: 'pc', provider: 'openai-compatible', baseUrl: c.baseUrl, secret: secret + '-c' });
    await gw.addProviderKey({ name: 'pa2', provider: 'openai-compatible', baseUrl: a.baseUrl, secret: secret + '-a2' });
    await gw.addProviderKey({ name: 'dead', provider: 'openai-compatible', baseUrl: `http://127.0.0.1:${await freePort()}/v1`, secret: secret + '-dead' });
    await gw.addProviderKey({ name: 'claude', provider: 'anthropic', baseUrl: c.origin, secret: secret + '-claude' });

    VK.fb = await gw.createVk({ name: 'fb', providerKey: 'pa' });
    await gw.setTarget('fb', 'pb', { priority: 1 });

    VK.dead = await gw.createVk({ name: 'fb-dead', providerKey: 'dead' });
    await gw.setTarget('fb-dead', 'pb', { priority: 1 });

    VK.single = await gw.createVk({ name: 'single', providerKey: 'pa' });

    VK.many = await gw.createVk({ name: 'many', providerKey: 'pa' });
    await gw.setTarget('many', 'pb', { priority: 1 });
    await gw.setTarget('many', 'pc', { priority: 2 });
    await gw.setTarget('many', 'pa2', { priority: 3 });

    VK.lb = await gw.createVk({ name: 'lb', providerKey: 'pa' });
    await gw.setTarget('lb', 'pa', { priority: 0, weight: 3 });
    await gw.setTarget('lb', 'pb', { priority: 0, weight: 1 });
    await gw.setTarget('lb', 'pc', { priority: 0, weight: 0 });

    VK.mapped = await gw.createVk({ name: 'mapped', providerKey: 'pa' });
    await gw.setTarget('mapped', 'pa', { priority: 0, modelMap: { 'gpt-4o-mini': 'my-deploy', 'gpt-4o': 'big-deploy' } });
    await gw.setTarget('mapped', 'pb', { priority: 1 });
  },
});

const A = () => ctx.mocks[0];
const B = () => ctx.mocks[1];
const C = () => ctx.mocks[2];

/** A handler answering "from WHO" (plain or streamed) with x-request-id req_WHO. */
function answers(who) {
  return (req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    if (body.stream === true) return streamDefault(res, body, { pieces: [`from ${who}`] });
    return sendJson(res, 200, chatCompletion(body.model, { content: `from ${who}` }), { 'x-request-id': `req_${who}` });
  };
}

function failsWith(status, extraHeaders = {}) {
  return (req, res) => sendJson(res, status, {
    error: { message: `mock says ${status}`, type: status === 429 ? 'rate_limit_error' : 'server_error', param: null, code: null },
  }, extraHeaders);
}

function chat(vk, { headers = {}, body = {}, id = randomUUID() } = {}) {
  const payload = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `routing ${id}` }], ...body });
  return request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${vk}`, 'content-type': 'application/json', 'x-request-id': id, ...headers },
    body: payload,
  }).then((res) => Object.assign(res, { id, payload }));
}

async function rowOf(id) {
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1, `log rows of ${id}: ${JSON.stringify(rows)}`);
  return rows[0];
}

function assertAttempts(row, expected) {
  const where = JSON.stringify(row.attempts);
  assert.equal(row.attempt_count, expected.length, `attempt_count (attempts ${where})`);
  assert.ok(Array.isArray(row.attempts), `attempts ${where}`);
  assert.equal(row.attempts.length, expected.length, `attempts ${where}`);
  expected.forEach((e, i) => {
    const a = row.attempts[i];
    assert.equal(a.attempt, i + 1, `attempt number ${where}`);
    for (const [k, v] of Object.entries(e)) assert.deepEqual(a[k], v, `attempts[${i}].${k} ${where}`);
    assert.equal(typeof a.provider_key_id, 'number', `attempts[${i}].provider_key_id ${where}`);
    assert.ok(a.latency_ms === null || (typeof a.latency_ms === 'number' && a.latency_ms >= 0), `attempts[${i}].latency_ms ${where}`);
    assert.ok(a.created_at !== null && a.created_at !== undefined, `attempts[${i}].created_at ${where}`);
  });
}

// ---- fallback ----

ctx.test('fallback: a 503 from the first target → the second answers; both attempts logged', async () => {
  A().setHandler(failsWith(503));
  B().setHandler(answers('B'));
  const res = await chat(VK.fb);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().choices[0].message.content, 'from B');
  assert.equal(res.headers['alephant-provider'], 'openai');
  assert.equal(res.headers['alephant-provider-req-id'], 'req_B');
  assert.equal(A().requests.length, 1);
  assert.equal(B().requests.length, 1);
  // each target gets the client's body and its own credentials
  assert.equal(A().requests[0].body.toString('utf8'), res.payload);
  assert.equal(B().requests[0].body.toString('utf8'), res.payload);
  assert.equal(A().requests[0].headers.authorization, `Bearer ${ctx.secret}-a`);
  assert.equal(B().requests[0].headers.authorization, `Bearer ${ctx.secret}-b`);
  const row = await rowOf(res.id);
  assert.equal(row.status, 200);
  assert.equal(row.provider, 'openai');
  assert.equal(row.provider_key, 'pb');
  assertAttempts(row, [
    { provider_key: 'pa', provider: 'openai-compatible', model: 'gpt-4o-mini', status: 503 },
    { provider_key: 'pb', provider: 'openai', model: 'gpt-4o-mini', status: 200 },
  ]);
  assert.notEqual(row.attempts[0].provider_key_id, row.attempts[1].provider_key_id);
});

ctx.test('fallback: a connect error (closed port) → the next target answers', async () => {
  B().setHandler(answers('B'));
  const res = await chat(VK.dead);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().choices[0].message.content, 'from B');
  assert.equal(res.headers['alephant-provider'], 'openai');
  assert.equal(B().requests.length, 1);
  const row = await rowOf(res.id);
  assertAttempts(row, [
    { provider_key: 'dead', status: null },
    { provider_key: 'pb', status: 200 },
  ]);
  assert.equal(typeof row.attempts[0].error_code, 'string', `error_code of the failed attempt: ${row.attempts[0].error_code}`);
  assert.ok(row.attempts[0].error_code.length > 0);
  assert.equal(row.provider_key, 'pb');
});

ctx.test('fallback: no first byte before the timeout → the next target answers', async () => {
  const gate = createGate();
  A().setHandler(async (req, res) => { await gate.promise; res.destroy(); });
  B().setHandler(answers('B'));
  try {
    const res = await chat(VK.fb);
    const row = await rowOf(res.id);
    assert.equal(res.status, 200, `${res.text}\nattempts: ${JSON.stringify(row.attempts)}; B saw ${B().requests.length} request(s)`);
    assert.equal(res.json().choices[0].message.content, 'from B');
    assert.equal(A().requests.length, 1);
    assert.equal(B().requests.length, 1);
    assertAttempts(row, [{ provider_key: 'pa', status: null }, { provider_key: 'pb', status: 200 }]);
    assert.equal(typeof row.attempts[0].error_code, 'string');
  } finally {
    gate.open();
  }
});

ctx.test('fallback: a 429 from the first target → the second answers', async () => {
  A().setHandler(failsWith(429, { 'retry-after': '1' }));
  B().setHandler(answers('B'));
  const res = await chat(VK.fb);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().choices[0].message.content, 'from B');
  assert.equal(A().requests.length, 1);
  assert.equal(B().requests.length, 1);
  const row = await rowOf(res.id);
  assertAttempts(row, [{ provider_key: 'pa', status: 429 }, { provider_key: 'pb', status: 200 }]);
});

ctx.test('fallback: a 400 from the first target is relayed as it is; the second is never called', async () => {
  const body = JSON.stringify({ error: { message: 'mock: bad request field', type: 'invalid_request_error', param: 'messages', code: 'bad_field' } });
  A().setHandler((req, res) => sendJson(res, 400, body, { 'x-request-id': 'req_A_400' }));
  B().setHandler(answers('B'));
  const res = await chat(VK.fb);
  assert.equal(res.status, 400);
  assert.equal(res.text, body);
  assert.equal(res.headers['alephant-provider'], 'openai-compatible');
  assert.equal(res.headers['alephant-provider-req-id'], 'req_A_400');
  assert.equal(A().requests.length, 1);
  assert.equal(B().requests.length, 0, 'the second target was called after a 400');
  const row = await rowOf(res.id);
  assert.equal(row.status, 400);
  assertAttempts(row, [{ provider_key: 'pa', status: 400 }]);
});

ctx.test('a single target: its 503 is relayed as the upstream sent it', async () => {
  const body = JSON.stringify({ error: { message: 'mock: overloaded right now', type: 'server_error', param: null, code: 'overloaded' } });
  A().setHandler((req, res) => sendJson(res, 503, body));
  const res = await chat(VK.single);
  assert.equal(res.status, 503);
  assert.equal(res.text, body);
  assert.equal(A().requests.length, 1);
  const row = await rowOf(res.id);
  assertAttempts(row, [{ provider_key: 'pa', status: 503 }]);
});

ctx.test('at most 3 attempts by default: the third target\'s 503 is relayed, the fourth never called', async () => {
  A().setHandler((req, res) => sendJson(res, 503, '{"error":{"message":"A down","type":"server_error","code":null}}'));
  B().setHandler((req, res) => sendJson(res, 502, '{"error":{"message":"B down","type":"server_error","code":null}}'));
  C().setHandler((req, res) => sendJson(res, 500, '{"error":{"message":"C down","type":"server_error","code":null}}'));
  const res = await chat(VK.many);
  assert.equal(res.status, 500, res.text);
  assert.equal(res.text, '{"error":{"message":"C down","type":"server_error","code":null}}');
  assert.equal(A().requests.length, 1, 'pa2 (on mock A) was tried: more than 3 attempts');
  assert.equal(B().requests.length, 1);
  assert.equal(C().requests.length, 1);
  const row = await rowOf(res.id);
  assertAttempts(row, [
    { provider_key: 'pa', status: 503 },
    { provider_key: 'pb', status: 502 },
    { provider_key: 'pc', status: 500 },
  ]);
});

ctx.test('fallback before the first byte of a stream: the second target streams', async () => {
  A().setHandler(failsWith(503));
  B().setHandler(answers('B'));
  const id = randomUUID();
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK.fb}`, 'x-request-id': id },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'stream with fallback' }] },
  });
  await withTimeout(s.ended, 20_000, 'stream after fallback');
  assert.equal(s.status, 200, s.text);
  assert.equal(s.headers['alephant-provider'], 'openai');
  assert.equal(streamText(s.events), 'from B');
  assert.equal(s.events.at(-1).data, '[DONE]');
  const row = await rowOf(id);
  assertAttempts(row, [{ provider_key: 'pa', status: 503 }, { provider_key: 'pb', status: 200 }]);
});

ctx.test('no fallback once a streamed byte reached the client: SSE error event, one log row', async () => {
  const gate = createGate();
  A().setHandler(async (req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    sseHead(res);
    sseSend(res, chatChunk('chatcmpl-broken', body.model, { role: 'assistant', content: 'partial' }));
    await gate.promise;
    res.socket.destroy();
  });
  B().setHandler(answers('B'));
  const id = randomUUID();
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK.fb}`, 'x-request-id': id },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'break mid-way' }] },
  });
  try {
    await s.waitForEvent((e) => e.data.includes('partial'), 15_000, 'the chunk before the break');
  } finally {
    gate.open();
  }
  await withTimeout(s.ended.catch(() => {}), 20_000, 'end of the broken stream');
  assert.equal(s.status, 200);
  assert.equal(streamText(s.events.filter((e) => !/^event: error$/m.test(e.raw))), 'partial');
  assert.ok(!s.text.includes('from B'), 'the second target\'s answer reached the client');
  assert.ok(!s.events.some((e) => e.data === '[DONE]'), 'a [DONE] nobody sent');
  const last = s.events.at(-1);
  assert.match(last.raw, /^event: error$/m, `last event: ${JSON.stringify(last.raw)}`);
  assert.equal(typeof JSON.parse(last.data).error.message, 'string');
  const row = await rowOf(id);
  assert.equal(B().requests.length, 0, 'the second target was called after the stream began');
  assert.equal(A().requests.length, 1);
  assertAttempts(row, [{ provider_key: 'pa', status: 200 }]);
  assert.equal(row.provider_key, 'pa');
});

// ---- forced routing ----

function noForcedHeader(mock) {
  for (const r of mock.requests) {
    assert.ok(!Object.keys(r.headers).some((h) => h.startsWith('alephant')), `alephant header upstream: ${JSON.stringify(r.headers)}`);
  }
}

ctx.test('forced routing by provider key name: only that target, although another has priority', async () => {
  A().setHandler(answers('A'));
  B().setHandler(answers('B'));
  const res = await chat(VK.fb, { headers: { 'alephant-forced-routing': 'pb' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().choices[0].message.content, 'from B');
  assert.equal(res.headers['alephant-provider'], 'openai');
  assert.equal(A().requests.length, 0);
  assert.equal(B().requests.length, 1);
  noForcedHeader(B());
  const row = await rowOf(res.id);
  assertAttempts(row, [{ provider_key: 'pb', status: 200 }]);
});

ctx.test('forced routing by provider kind: only the target of that kind', async () => {
  A().setHandler(answers('A'));
  B().setHandler(answers('B'));
  const res = await chat(VK.fb, { headers: { 'alephant-forced-routing': 'openai' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().choices[0].message.content, 'from B');
  assert.equal(A().requests.length, 0);
  assert.equal(B().requests.length, 1);
  noForcedHeader(B());
});

ctx.test('forced routing: no fallback away from the forced target; its 503 is relayed', async () => {
  A().setHandler(answers('A'));
  B().setHandler((req, res) => sendJson(res, 503, '{"error":{"message":"B busy","type":"server_error","code":null}}'));
  const res = await chat(VK.fb, { headers: { 'alephant-forced-routing': 'pb' } });
  assert.equal(res.status, 503, res.text);
  assert.equal(res.text, '{"error":{"message":"B busy","type":"server_error","code":null}}');
  assert.equal(A().requests.length, 0, 'fell back to a target the client did not force');
  assert.equal(B().requests.length, 1);
  noForcedHeader(B());
});

ctx.test('forced routing: an unknown name → 400, nothing sent upstream', async () => {
  const res = await chat(VK.fb, { headers: { 'alephant-forced-routing': 'no-such-provider' } });
  assertOpenAIError(res, 400, { code: 'invalid_request' });
  assert.equal(A().requests.length + B().requests.length + C().requests.length, 0);
});

ctx.test('forced routing: a provider kind or key that exists but is not on this key → 400', async () => {
  for (const name of ['anthropic', 'claude', 'pc']) {
    const res = await chat(VK.fb, { headers: { 'alephant-forced-routing': name } });
    assertOpenAIError(res, 400, { code: 'invalid_request' });
  }
  assert.equal(A().requests.length + B().requests.length + C().requests.length, 0);
});

// ---- load balancing ----

ctx.test('load balancing: equal priorities share by weight (3:1), a weight-0 target gets nothing', async () => {
  A().setHandler(answers('A'));
  B().setHandler(answers('B'));
  C().setHandler(answers('C'));
  const N = 80;
  const seen = { A: 0, B: 0, C: 0 };
  for (let i = 0; i < N; i += 8) {
    const batch = await Promise.all(Array.from({ length: 8 }, () => chat(VK.lb)));
    for (const res of batch) {
      assert.equal(res.status, 200, res.text);
      seen[res.json().choices[0].message.content.slice(5)]++;
    }
  }
  assert.equal(A().requests.length, seen.A);
  assert.equal(B().requests.length, seen.B);
  assert.equal(seen.A + seen.B + seen.C, N);
  assert.equal(seen.C, 0, `weight-0 target used: ${JSON.stringify(seen)}`);
  // B ~ Binomial(80, 1/4): P(B < 5) ≈ 2.3e-6, P(B > 40) ≈ 4e-7.
  assert.ok(seen.A >= 40, `weight 3 target got ${seen.A} of ${N}: ${JSON.stringify(seen)}`);
  assert.ok(seen.B >= 5, `weight 1 target got ${seen.B} of ${N}: ${JSON.stringify(seen)}`);
});

ctx.test('a weight-0 target is used when forced', async () => {
  C().setHandler(answers('C'));
  const res = await chat(VK.lb, { headers: { 'alephant-forced-routing': 'pc' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().choices[0].message.content, 'from C');
  assert.equal(A().requests.length + B().requests.length, 0);
});

// ---- model maps ----

ctx.test('model map: the target gets its mapped model; the attempt records it', async () => {
  A().setHandler(answers('A'));
  const res = await chat(VK.mapped, { body: { temperature: 0.25, max_tokens: 33 } });
  assert.equal(res.status, 200, res.text);
  assert.equal(A().requests.length, 1);
  const up = JSON.parse(A().requests[0].body.toString('utf8'));
  const sent = JSON.parse(res.payload);
  assert.equal(up.model, 'my-deploy');
  assert.deepEqual({ ...up, model: sent.model }, sent, 'other fields changed on the way');
  const row = await rowOf(res.id);
  assertAttempts(row, [{ provider_key: 'pa', model: 'my-deploy', status: 200 }]);
});

ctx.test('model map: a model not in the map is sent unchanged', async () => {
  A().setHandler(answers('A'));
  const res = await chat(VK.mapped, { body: { model: 'mock-model-1' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(JSON.parse(A().requests[0].body.toString('utf8')).model, 'mock-model-1');
  const res2 = await chat(VK.mapped, { body: { model: 'gpt-4o' } });
  assert.equal(res2.status, 200, res2.text);
  assert.equal(JSON.parse(A().requests[1].body.toString('utf8')).model, 'big-deploy');
});

ctx.test('model map is per target: after fallback the unmapped target gets the client\'s model', async () => {
  A().setHandler(failsWith(503));
  B().setHandler(answers('B'));
  const res = await chat(VK.mapped);
  assert.equal(res.status, 200, res.text);
  assert.equal(JSON.parse(A().requests[0].body.toString('utf8')).model, 'my-deploy');
  assert.equal(JSON.parse(B().requests[0].body.toString('utf8')).model, 'gpt-4o-mini');
  const row = await rowOf(res.id);
  assertAttempts(row, [
    { provider_key: 'pa', model: 'my-deploy', status: 503 },
    { provider_key: 'pb', model: 'gpt-4o-mini', status: 200 },
  ]);
});

// ---- the operator CLI for targets ----

ctx.test('vk target list/remove: order, weights, maps; a removed target is no longer used', async () => {
  const t = await ctx.gw.targets('mapped');
  assert.deepEqual(t.map((x) => [x.provider_key, x.provider, x.priority, x.weight]), [
    ['pa', 'openai-compatible', 0, 1],
    ['pb', 'openai', 1, 1],
  ]);
  assert.deepEqual(t[0].model_map, { 'gpt-4o-mini': 'my-deploy', 'gpt-4o': 'big-deploy' });
  assert.equal(t[1].model_map, null);

  const tmp = await ctx.gw.createVk({ name: 'tmp-routes', providerKey: 'pa' });
  await ctx.gw.setTarget('tmp-routes', 'pb', { priority: 5 });
  assert.equal((await ctx.gw.targets('tmp-routes')).length, 2);
  await ctx.gw.removeTarget('tmp-routes', 'pa');
  assert.deepEqual((await ctx.gw.targets('tmp-routes')).map((x) => x.provider_key), ['pb']);
  A().setHandler(answers('A'));
  B().setHandler(answers('B'));
  const res = await chat(tmp);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().choices[0].message.content, 'from B');
  assert.equal(A().requests.length, 0, 'a removed target was used');
  const last = await ctx.gw.ctlResult(['vk', 'target', 'remove', 'tmp-routes', '--provider-key', 'pb']);
  assert.notEqual(last.code, 0, 'removing the last target was allowed');
  assert.deepEqual((await ctx.gw.targets('tmp-routes')).map((x) => x.provider_key), ['pb']);
});
