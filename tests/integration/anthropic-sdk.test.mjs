// The official Anthropic SDK (@anthropic-ai/sdk) as a client of the gateway's native /v1/messages
// on an Anthropic provider key: baseURL = the gateway root, apiKey = a virtual key (sent as
// x-api-key). Plain and streamed messages, usage logged, the provider secret swapped in.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { useGateway } from './lib/suite.mjs';
import { requirePackage } from './lib/gateway.mjs';
import { withTimeout } from './lib/http.mjs';
import { anthropicHandler, anthropicStreamEvents, sendAnthropicError, ANTHROPIC_USAGE } from './lib/anthropic-mock.mjs';

const { Anthropic } = requirePackage('@anthropic-ai/sdk');

let VK;
const MODEL = 'claude-3-5-haiku-20241022';

const ctx = useGateway({
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'claude', provider: 'anthropic', baseUrl: mock.origin, secret });
    VK = await gw.createVk({ name: 'anthropic-sdk-app', providerKey: 'claude' });
  },
});

function client() {
  return new Anthropic({ baseURL: ctx.gw.base, apiKey: VK, maxRetries: 0, timeout: 30_000 });
}

function assertUpstreamCredentials() {
  assert.equal(ctx.mock.requests.length, 1);
  const seen = ctx.mock.requests[0];
  assert.equal(seen.method, 'POST');
  assert.equal(seen.url.split('?')[0], '/v1/messages');
  assert.equal(seen.headers['x-api-key'], ctx.secret);
  assert.equal(seen.headers.authorization, undefined);
  assert.ok(!JSON.stringify(seen.rawHeaders).includes(VK), 'the virtual key went upstream');
  assert.ok(seen.headers['anthropic-version'], 'no anthropic-version upstream');
  return JSON.parse(seen.body.toString('utf8'));
}

async function rowOf(id) {
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  return rows[0];
}

ctx.test('Anthropic SDK: messages.create through the gateway', async () => {
  ctx.mock.setHandler(anthropicHandler());
  const id = randomUUID();
  const msg = await client().messages.create({
    model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'Hello, Claude' }],
  }, { headers: { 'x-request-id': id } });
  assert.equal(msg.type, 'message');
  assert.equal(msg.role, 'assistant');
  assert.deepEqual(msg.content, [{ type: 'text', text: 'Hello from mock Claude.' }]);
  assert.equal(msg.stop_reason, 'end_turn');
  assert.equal(msg.usage.input_tokens, ANTHROPIC_USAGE.input_tokens);
  assert.equal(msg.usage.output_tokens, ANTHROPIC_USAGE.output_tokens);
  const up = assertUpstreamCredentials();
  assert.deepEqual(up, { model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'Hello, Claude' }] });
  const row = await rowOf(id);
  assert.equal(row.status, 200);
  assert.equal(row.provider, 'anthropic');
  assert.equal(row.virtual_key, 'anthropic-sdk-app');
  assert.equal(row.prompt_tokens, ANTHROPIC_USAGE.input_tokens);
  assert.equal(row.completion_tokens, ANTHROPIC_USAGE.output_tokens);
  assert.equal(row.total_tokens, ANTHROPIC_USAGE.input_tokens + ANTHROPIC_USAGE.output_tokens);
});

ctx.test('Anthropic SDK: messages.stream (text events, finalMessage), usage logged', async () => {
  ctx.mock.setHandler(anthropicHandler());
  const id = randomUUID();
  const stream = client().messages.stream({
    model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'Stream, please' }],
  }, { headers: { 'x-request-id': id } });
  let text = '';
  stream.on('text', (t) => { text += t; });
  const final = await withTimeout(stream.finalMessage(), 20_000, 'Anthropic SDK stream');
  assert.equal(text, 'Hello stream.');
  assert.deepEqual(final.content, [{ type: 'text', text: 'Hello stream.' }]);
  assert.equal(final.stop_reason, 'end_turn');
  assert.equal(final.usage.input_tokens, ANTHROPIC_USAGE.input_tokens);
  assert.equal(final.usage.output_tokens, ANTHROPIC_USAGE.output_tokens);
  const up = assertUpstreamCredentials();
  assert.equal(up.stream, true);
  const row = await rowOf(id);
  assert.ok(row.stream === true || row.stream === 1);
  assert.equal(row.prompt_tokens, ANTHROPIC_USAGE.input_tokens);
  assert.equal(row.completion_tokens, ANTHROPIC_USAGE.output_tokens);
});

ctx.test('Anthropic SDK: a streamed tool_use arrives intact', async () => {
  const pieces = ['', '{"location": "Par', 'is, France", "units"', ': ["c", "f"]}'];
  ctx.mock.setHandler(anthropicHandler((body) => ({
    events: anthropicStreamEvents(body.model, {
      blocks: [{ type: 'tool_use', id: 'toolu_sdk_1', name: 'get_weather', jsonPieces: pieces }],
      stopReason: 'tool_use',
      usage: { input_tokens: 300, output_tokens: 40 },
    }),
  })));
  const stream = client().messages.stream({
    model: MODEL, max_tokens: 256,
    tools: [{ name: 'get_weather', description: 'weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }],
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
  });
  const final = await withTimeout(stream.finalMessage(), 20_000, 'Anthropic SDK tool stream');
  assert.equal(final.stop_reason, 'tool_use');
  assert.deepEqual(final.content, [{ type: 'tool_use', id: 'toolu_sdk_1', name: 'get_weather', input: { location: 'Paris, France', units: ['c', 'f'] } }]);
  assert.equal(final.usage.output_tokens, 40);
});

ctx.test('Anthropic SDK: an upstream error reaches the SDK in Anthropic\'s format', async () => {
  ctx.mock.setHandler((req, res) => sendAnthropicError(res, 400, 'invalid_request_error', 'max_tokens: mock says too large'));
  await assert.rejects(
    client().messages.create({ model: MODEL, max_tokens: 999999, messages: [{ role: 'user', content: 'x' }] }),
    (e) => {
      assert.ok(e instanceof Anthropic.BadRequestError, `got ${e?.constructor?.name}: ${e?.message}`);
      assert.equal(e.status, 400);
      assert.equal(e.error?.error?.type, 'invalid_request_error');
      assert.equal(e.error?.error?.message, 'max_tokens: mock says too large');
      return true;
    },
  );
});

ctx.test('Anthropic SDK: a wrong virtual key is refused before anything goes upstream', async () => {
  ctx.mock.setHandler(anthropicHandler());
  const bad = new Anthropic({ baseURL: ctx.gw.base, apiKey: 'vk-not-a-real-key-000000000000', maxRetries: 0, timeout: 30_000 });
  await assert.rejects(
    bad.messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    (e) => {
      assert.equal(e.status, 401, `got ${e?.constructor?.name}: ${e?.message}`);
      return true;
    },
  );
  assert.equal(ctx.mock.requests.length, 0);
});
