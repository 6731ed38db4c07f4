// The anthropic provider kind against the mock upstream speaking Anthropic's Messages API:
// base URL without /v1, the provider secret in x-api-key, anthropic-version defaulted or passed
// through, usage read from the answer and from message_start / message_delta stream events.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { useGateway } from './lib/suite.mjs';
import { request, streamRequest, withTimeout } from './lib/http.mjs';
import { sendJson, sseHead } from './lib/mock-upstream.mjs';

let VK;
const USAGE = { input_tokens: 21, output_tokens: 9 };

const ctx = useGateway({
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'claude', provider: 'anthropic', baseUrl: mock.origin, secret });
    VK = await gw.createVk({ name: 'claude-app', providerKey: 'claude' });
  },
});

function messagesHandler(req, res, rec) {
  const body = JSON.parse(rec.body.toString('utf8'));
  const id = 'msg_mock_' + randomUUID().replace(/-/g, '').slice(0, 16);
  if (!body.stream) {
    return sendJson(res, 200, {
      id, type: 'message', role: 'assistant', model: body.model,
      content: [{ type: 'text', text: 'Hello from mock Claude.' }],
      stop_reason: 'end_turn', stop_sequence: null,
      usage: { ...USAGE },
    }, {
      'request-id': 'req_anthropic_mock', 'x-request-id': null, 'openai-processing-ms': null,
      'anthropic-ratelimit-requests-remaining': '99',
    });
  }
  sseHead(res, { 'request-id': 'req_anthropic_stream', 'x-request-id': null });
  const ev = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  ev('message_start', { message: { id, type: 'message', role: 'assistant', model: body.model, content: [], usage: { input_tokens: USAGE.input_tokens, output_tokens: 1 } } });
  ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
  ev('ping', {});
  ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hello' } });
  ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: ' stream.' } });
  ev('content_block_stop', { index: 0 });
  ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: USAGE.output_tokens } });
  ev('message_stop', {});
  res.end();
}

ctx.test('anthropic: /v1/messages with x-api-key; secret in x-api-key, version defaulted, usage logged', async () => {
  ctx.mock.setHandler(messagesHandler);
  const id = randomUUID();
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/messages',
    headers: { 'x-api-key': VK, 'content-type': 'application/json', 'x-request-id': id },
    body: JSON.stringify({ model: 'claude-3-5-haiku-latest', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().content[0].text, 'Hello from mock Claude.');
  assert.equal(res.headers['anthropic-ratelimit-requests-remaining'], '99');
  assert.equal(ctx.mock.requests.length, 1);
  const seen = ctx.mock.requests[0];
  assert.equal(seen.url, '/v1/messages');
  assert.equal(seen.headers['x-api-key'], ctx.secret);
  assert.equal(seen.headers.authorization, undefined);
  assert.equal(seen.headers['anthropic-version'], '2023-06-01');
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].provider, 'anthropic');
  assert.equal(rows[0].prompt_tokens, USAGE.input_tokens);
  assert.equal(rows[0].completion_tokens, USAGE.output_tokens);
  assert.equal(rows[0].total_tokens, USAGE.input_tokens + USAGE.output_tokens);
  assert.equal(rows[0].upstream_request_id, 'req_anthropic_mock');
});

ctx.test('anthropic: the client\'s anthropic-version and anthropic-beta are passed through', async () => {
  ctx.mock.setHandler(messagesHandler);
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/messages',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json', 'anthropic-version': '2024-10-22', 'anthropic-beta': 'tools-2024-04-04' },
    body: JSON.stringify({ model: 'claude-3-5-haiku-latest', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200, res.text);
  const seen = ctx.mock.requests[0];
  assert.equal(seen.headers['anthropic-version'], '2024-10-22');
  assert.equal(seen.headers['anthropic-beta'], 'tools-2024-04-04');
  assert.equal(seen.headers['x-api-key'], ctx.secret);
  assert.equal(seen.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'anthropic-version').length, 1);
});

ctx.test('anthropic: a stream is relayed event by event and its usage logged', async () => {
  ctx.mock.setHandler(messagesHandler);
  const id = randomUUID();
  const s = streamRequest(ctx.gw.base, {
    path: '/v1/messages',
    headers: { 'x-api-key': VK, 'x-request-id': id },
    body: { model: 'claude-3-5-haiku-latest', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] },
  });
  await withTimeout(s.ended, 15_000, 'anthropic stream');
  assert.equal(s.status, 200);
  assert.match(String(s.headers['content-type']), /^text\/event-stream/);
  const types = s.events.map((e) => (e.raw.match(/^event: (.*)$/m) || [])[1]);
  assert.deepEqual(types, ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta',
    'content_block_stop', 'message_delta', 'message_stop']);
  const text = s.events.map((e) => JSON.parse(e.data)).filter((d) => d.type === 'content_block_delta').map((d) => d.delta.text).join('');
  assert.equal(text, 'Hello stream.');
  // the gateway must not add OpenAI's stream_options to an Anthropic request
  const up = JSON.parse(ctx.mock.requests[0].body.toString());
  assert.equal(up.stream_options, undefined);
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  assert.ok(rows[0].stream === true || rows[0].stream === 1);
  assert.equal(rows[0].prompt_tokens, USAGE.input_tokens);
  assert.equal(rows[0].completion_tokens, USAGE.output_tokens);
  assert.equal(rows[0].total_tokens, USAGE.input_tokens + USAGE.output_tokens);
});
