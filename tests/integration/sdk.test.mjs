// The official OpenAI SDK pointed at the gateway (baseURL …/v1, apiKey = a virtual key), against
// the mock upstream; and the built-in "mock" provider kind, which answers without any upstream.

import assert from 'node:assert/strict';
import { useGateway } from './lib/suite.mjs';
import { requirePackage } from './lib/gateway.mjs';
import { request, streamRequest, eventJsons, withTimeout } from './lib/http.mjs';
import { MOCK_TEXT, MOCK_USAGE, MOCK_STREAM_PIECES, MOCK_MODELS, MOCK_STREAM_USAGE } from './lib/mock-upstream.mjs';

const { OpenAI } = requirePackage('openai');

let VK;
let VK_DEMO;

const ctx = useGateway({
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'up', provider: 'openai-compatible', baseUrl: mock.baseUrl, secret });
    VK = await gw.createVk({ name: 'sdk-app', providerKey: 'up' });
    await gw.addProviderKey({ name: 'demo', provider: 'mock' });
    VK_DEMO = await gw.createVk({ name: 'demo-app', providerKey: 'demo' });
  },
});

function client(apiKey) {
  return new OpenAI({ baseURL: `${ctx.gw.base}/v1`, apiKey, maxRetries: 0, timeout: 30_000 });
}

ctx.test('SDK: chat.completions.create', async () => {
  const r = await client(VK).chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Write a one sentence status update.' }],
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.content, MOCK_TEXT);
  assert.deepEqual(r.usage, { ...MOCK_USAGE });
  assert.equal(ctx.mock.requests.length, 1);
  assert.equal(ctx.mock.requests[0].headers.authorization, `Bearer ${ctx.secret}`);
});

ctx.test('SDK: chat.completions.create with stream: true', async () => {
  const stream = await client(VK).chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'stream please' }],
    stream: true,
  });
  let text = '';
  let chunks = 0;
  await withTimeout((async () => {
    for await (const chunk of stream) {
      chunks++;
      assert.equal(chunk.object, 'chat.completion.chunk');
      assert.ok(!chunk.usage, 'usage chunk the client did not ask for');
      text += chunk.choices[0]?.delta?.content ?? '';
    }
  })(), 20_000, 'SDK stream');
  assert.equal(text, MOCK_STREAM_PIECES.join(''));
  assert.ok(chunks >= MOCK_STREAM_PIECES.length);
});

ctx.test('SDK: stream with include_usage reports usage', async () => {
  const stream = await client(VK).chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'stream with usage' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let usage = null;
  for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
  assert.deepEqual(usage, { ...MOCK_STREAM_USAGE });
});

ctx.test('SDK: models.list', async () => {
  const ids = [];
  for await (const m of await client(VK).models.list()) ids.push(m.id);
  assert.deepEqual(ids, [...MOCK_MODELS]);
});

ctx.test('SDK: a wrong key throws AuthenticationError (401)', async () => {
  await assert.rejects(
    client('vk-wrong-key').chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
    (e) => {
      assert.ok(e instanceof OpenAI.AuthenticationError, `got ${e?.constructor?.name}: ${e?.message}`);
      assert.equal(e.status, 401);
      return true;
    },
  );
  assert.equal(ctx.mock.requests.length, 0);
});

ctx.test('built-in mock provider: a chat completion without any upstream', async () => {
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK_DEMO}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello mock' }] }),
  });
  assert.equal(res.status, 200, res.text);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const j = res.json();
  assert.equal(j.object, 'chat.completion');
  assert.equal(typeof j.choices[0].message.content, 'string');
  assert.equal(j.choices[0].message.role, 'assistant');
  assert.equal(ctx.mock.requests.length, 0);
});

ctx.test('built-in mock provider: a stream ending in [DONE]', async () => {
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK_DEMO}` },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hello mock' }] },
  });
  const { status, headers } = await withTimeout(s.response, 10_000, 'mock provider stream headers');
  assert.equal(status, 200);
  assert.match(String(headers['content-type']), /^text\/event-stream/);
  await withTimeout(s.ended, 10_000, 'mock provider stream end');
  assert.ok(s.events.length >= 2, s.text);
  assert.equal(s.events.at(-1).data, '[DONE]');
  for (const j of eventJsons(s.events)) assert.equal(j.object, 'chat.completion.chunk');
  assert.equal(ctx.mock.requests.length, 0);
});

ctx.test('built-in mock provider through the SDK, plain and streamed', async () => {
  const c = client(VK_DEMO);
  const r = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.object, 'chat.completion');
  assert.equal(typeof r.choices[0].message.content, 'string');
  let n = 0;
  for await (const chunk of await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true })) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    n++;
  }
  assert.ok(n >= 1);
  const row = await ctx.gw.waitForLog((x) => x.virtual_key === 'demo-app' && x.status === 200);
  assert.equal(row.provider, 'mock');
});
