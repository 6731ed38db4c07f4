// OpenAI-format chat completions on a virtual key whose target is an Anthropic provider key: the
// gateway sends an Anthropic Messages request to {base}/v1/messages and answers in OpenAI's
// format, streams included (Anthropic events → chat.completion.chunk … [DONE]). Unsupported
// fields are refused before anything goes upstream; Anthropic errors come back OpenAI-style.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { useGateway } from './lib/suite.mjs';
import { requirePackage } from './lib/gateway.mjs';
import { request, streamRequest, eventJsons, assertOpenAIError, withTimeout } from './lib/http.mjs';
import {
  anthropicHandler, anthropicMessage, anthropicStreamEvents, anthropicText, sendAnthropicError, sendAnthropicJson, ANTHROPIC_USAGE,
} from './lib/anthropic-mock.mjs';

const { OpenAI } = requirePackage('openai');

let VK;
const MODEL = 'claude-3-5-haiku-20241022';

const ctx = useGateway({
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'claude', provider: 'anthropic', baseUrl: mock.origin, secret });
    VK = await gw.createVk({ name: 'translate-app', providerKey: 'claude' });
  },
});

function chat(body, { headers = {}, id = randomUUID() } = {}) {
  return request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${VK}`, 'content-type': 'application/json', 'x-request-id': id, ...headers },
    body: JSON.stringify({ model: MODEL, ...body }),
  }).then((res) => Object.assign(res, { id }));
}

function client() {
  return new OpenAI({ baseURL: `${ctx.gw.base}/v1`, apiKey: VK, maxRetries: 0, timeout: 30_000 });
}

/** The one request the mock saw: checks the Anthropic endpoint and credentials, returns its body. */
function upstreamBody() {
  assert.equal(ctx.mock.requests.length, 1, `upstream requests: ${ctx.mock.requests.map((r) => r.url)}`);
  const seen = ctx.mock.requests[0];
  assert.equal(seen.method, 'POST');
  assert.equal(seen.url, '/v1/messages');
  assert.equal(seen.headers['x-api-key'], ctx.secret);
  assert.equal(seen.headers.authorization, undefined, 'Authorization went to Anthropic');
  assert.ok(!JSON.stringify(seen.headers).includes(VK), 'the virtual key went upstream');
  return JSON.parse(seen.body.toString('utf8'));
}

async function rowOf(id) {
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  return rows[0];
}

/** Messages as role + text, whatever content form (string or text blocks) the gateway chose. */
function roleTexts(messages) {
  return messages.map((m) => [m.role, anthropicText(m.content)]);
}

function blocks(content) {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city'] },
  },
};

ctx.test('translate: a text answer in OpenAI format; Anthropic request with defaults', async () => {
  ctx.mock.setHandler(anthropicHandler());
  const res = await chat({ messages: [{ role: 'user', content: 'hi there' }] });
  assert.equal(res.status, 200, res.text);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.equal(res.headers['alephant-provider'], 'anthropic');
  assert.match(String(res.headers['alephant-provider-req-id']), /^req_/);
  const j = res.json();
  assert.equal(j.object, 'chat.completion');
  assert.equal(typeof j.id, 'string');
  assert.equal(j.choices.length, 1);
  assert.equal(j.choices[0].index, 0);
  assert.equal(j.choices[0].message.role, 'assistant');
  assert.equal(j.choices[0].message.content, 'Hello from mock Claude.');
  assert.equal(j.choices[0].finish_reason, 'stop');
  assert.equal(j.usage.prompt_tokens, ANTHROPIC_USAGE.input_tokens);
  assert.equal(j.usage.completion_tokens, ANTHROPIC_USAGE.output_tokens);
  assert.equal(j.usage.total_tokens, ANTHROPIC_USAGE.input_tokens + ANTHROPIC_USAGE.output_tokens);

  const up = upstreamBody();
  assert.equal(ctx.mock.requests[0].headers['anthropic-version'], '2023-06-01');
  assert.equal(up.model, MODEL);
  assert.equal(up.max_tokens, 4096);
  assert.deepEqual(roleTexts(up.messages), [['user', 'hi there']]);
  assert.equal(up.system, undefined);
  assert.ok(up.stream === undefined || up.stream === false);
  for (const k of ['n', 'stream_options', 'tools', 'stop']) assert.equal(up[k], undefined, `${k} sent to Anthropic`);

  const row = await rowOf(res.id);
  assert.equal(row.status, 200);
  assert.equal(row.provider, 'anthropic');
  assert.equal(row.prompt_tokens, ANTHROPIC_USAGE.input_tokens);
  assert.equal(row.completion_tokens, ANTHROPIC_USAGE.output_tokens);
  assert.equal(row.total_tokens, ANTHROPIC_USAGE.input_tokens + ANTHROPIC_USAGE.output_tokens);
});

ctx.test('translate: the official openai SDK, non-streaming', async () => {
  ctx.mock.setHandler(anthropicHandler());
  const r = await client().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'sdk hi' }] });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.content, 'Hello from mock Claude.');
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.equal(r.usage.prompt_tokens, ANTHROPIC_USAGE.input_tokens);
});

ctx.test('translate: system messages → "system"; parameters mapped (max_tokens, stop → stop_sequences)', async () => {
  ctx.mock.setHandler(anthropicHandler());
  const res = await chat({
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'first answer' },
      { role: 'user', content: [{ type: 'text', text: 'second question' }] },
    ],
    max_tokens: 123,
    temperature: 0.5,
    top_p: 0.9,
    stop: ['END', 'STOP'],
  });
  assert.equal(res.status, 200, res.text);
  const up = upstreamBody();
  assert.equal(anthropicText(up.system), 'You are terse.');
  assert.deepEqual(roleTexts(up.messages), [['user', 'first question'], ['assistant', 'first answer'], ['user', 'second question']]);
  assert.equal(up.max_tokens, 123);
  assert.equal(up.temperature, 0.5);
  assert.equal(up.top_p, 0.9);
  assert.deepEqual(up.stop_sequences, ['END', 'STOP']);
  assert.equal(up.stop, undefined);
});

ctx.test('translate: a single stop string; the client\'s anthropic-version is kept', async () => {
  ctx.mock.setHandler(anthropicHandler());
  const res = await chat({ messages: [{ role: 'user', content: 'x' }], stop: 'DONE' }, { headers: { 'anthropic-version': '2023-01-01' } });
  assert.equal(res.status, 200, res.text);
  const up = upstreamBody();
  assert.deepEqual(up.stop_sequences, ['DONE']);
  assert.equal(ctx.mock.requests[0].headers['anthropic-version'], '2023-01-01');
});

ctx.test('translate: stop reasons → finish_reason (max_tokens → length, stop_sequence → stop)', async () => {
  for (const [stopReason, finish] of [['max_tokens', 'length'], ['stop_sequence', 'stop'], ['end_turn', 'stop']]) {
    ctx.mock.clear();
    ctx.mock.setHandler(anthropicHandler((body) => ({ message: anthropicMessage(body.model, { stopReason, content: [{ type: 'text', text: 'cut' }] }) })));
    const res = await chat({ messages: [{ role: 'user', content: stopReason }] });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().choices[0].finish_reason, finish, `stop_reason ${stopReason}`);
  }
});

ctx.test('translate: tools → Anthropic tools; a tool_use answer → tool_calls', async () => {
  ctx.mock.setHandler(anthropicHandler((body) => ({
    message: anthropicMessage(body.model, {
      stopReason: 'tool_use',
      content: [
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } },
      ],
      usage: { input_tokens: 380, output_tokens: 57 },
    }),
  })));
  const res = await chat({ messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL] });
  assert.equal(res.status, 200, res.text);
  const up = upstreamBody();
  assert.deepEqual(up.tools, [{
    name: 'get_weather',
    description: 'Current weather of a city',
    input_schema: WEATHER_TOOL.function.parameters,
  }]);
  const choice = res.json().choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.role, 'assistant');
  assert.equal(choice.message.content, 'Let me check.');
  assert.equal(choice.message.tool_calls.length, 1);
  const call = choice.message.tool_calls[0];
  assert.equal(call.id, 'toolu_01A09q90qw90lq917835lq9');
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.equal(typeof call.function.arguments, 'string');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'celsius' });
  assert.equal(res.json().usage.prompt_tokens, 380);
  assert.equal(res.json().usage.completion_tokens, 57);
});

ctx.test('translate: assistant tool_calls → tool_use, tool messages → tool_result', async () => {
  ctx.mock.setHandler(anthropicHandler());
  const res = await chat({
    tools: [WEATHER_TOOL],
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_01', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'toolu_01', content: '18 degrees, sunny' },
    ],
  });
  assert.equal(res.status, 200, res.text);
  const up = upstreamBody();
  assert.deepEqual(up.messages.map((m) => m.role), ['user', 'assistant', 'user']);
  const use = blocks(up.messages[1].content).filter((b) => b.type === 'tool_use');
  assert.deepEqual(use, [{ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } }]);
  const results = blocks(up.messages[2].content).filter((b) => b.type === 'tool_result');
  assert.equal(results.length, 1);
  assert.equal(results[0].tool_use_id, 'toolu_01');
  assert.equal(anthropicText(results[0].content), '18 degrees, sunny');
});

ctx.test('translate: an image (data URL) → an Anthropic base64 image block', async () => {
  ctx.mock.setHandler(anthropicHandler());
  const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
  const res = await chat({
    messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } }] }],
  });
  assert.equal(res.status, 200, res.text);
  const up = upstreamBody();
  const content = blocks(up.messages[0].content);
  assert.deepEqual(content.find((b) => b.type === 'text'), { type: 'text', text: 'What is this?' });
  assert.deepEqual(content.find((b) => b.type === 'image'), { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } });
});

ctx.test('translate: a streamed text answer → chat.completion.chunk events ending with [DONE]', async () => {
  ctx.mock.setHandler(anthropicHandler());
  const id = randomUUID();
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK}`, 'x-request-id': id },
    body: { model: MODEL, stream: true, messages: [{ role: 'user', content: 'stream please' }] },
  });
  await withTimeout(s.ended, 20_000, 'translated stream');
  assert.equal(s.status, 200, s.text);
  assert.match(String(s.headers['content-type']), /^text\/event-stream/);
  assert.equal(s.events.at(-1).data, '[DONE]');
  assert.ok(!/^event:/m.test(s.text), `Anthropic event names reached the client: ${s.text.slice(0, 300)}`);
  const chunks = eventJsons(s.events);
  for (const c of chunks) assert.equal(c.object, 'chat.completion.chunk');
  assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'Hello stream.');
  assert.deepEqual(chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean), ['stop']);
  assert.ok(!chunks.some((c) => c.usage), 'a usage chunk the client did not ask for');
  const up = upstreamBody();
  assert.equal(up.stream, true);
  assert.equal(up.stream_options, undefined);
  const row = await rowOf(id);
  assert.equal(row.prompt_tokens, ANTHROPIC_USAGE.input_tokens);
  assert.equal(row.completion_tokens, ANTHROPIC_USAGE.output_tokens);
});

ctx.test('translate: a stream with include_usage ends with a usage chunk', async () => {
  ctx.mock.setHandler(anthropicHandler());
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK}` },
    body: { model: MODEL, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'usage please' }] },
  });
  await withTimeout(s.ended, 20_000, 'translated stream with usage');
  const withUsage = eventJsons(s.events).filter((c) => c.usage);
  assert.equal(withUsage.length, 1, s.text);
  assert.equal(withUsage[0].usage.prompt_tokens, ANTHROPIC_USAGE.input_tokens);
  assert.equal(withUsage[0].usage.completion_tokens, ANTHROPIC_USAGE.output_tokens);
  assert.equal(withUsage[0].usage.total_tokens, ANTHROPIC_USAGE.input_tokens + ANTHROPIC_USAGE.output_tokens);
  assert.equal(s.events.at(-1).data, '[DONE]');
});

const STREAM_TOOL = {
  id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6',
  name: 'get_weather',
  jsonPieces: ['', '{"city": "Sa', 'n Francisco, CA"', ', "unit": "fahr', 'enheit"}'],
};
const STREAM_TOOL_USAGE = { input_tokens: 472, output_tokens: 89 };

function toolStreamHandler() {
  return anthropicHandler((body) => ({
    events: anthropicStreamEvents(body.model, {
      blocks: [
        { type: 'text', pieces: ['Okay, let me ', 'check.'] },
        { type: 'tool_use', id: STREAM_TOOL.id, name: STREAM_TOOL.name, jsonPieces: STREAM_TOOL.jsonPieces },
      ],
      stopReason: 'tool_use',
      usage: STREAM_TOOL_USAGE,
    }),
  }));
}

ctx.test('translate: a streamed tool call, reassembled by the openai SDK (stream: true)', async () => {
  ctx.mock.setHandler(toolStreamHandler());
  const id = randomUUID();
  const stream = await client().chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: 'Weather in San Francisco?' }],
    tools: [WEATHER_TOOL],
    stream: true,
  }, { headers: { 'x-request-id': id } });
  let text = '';
  let finish = null;
  const calls = [];
  await withTimeout((async () => {
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      const choice = chunk.choices[0];
      if (!choice) continue;
      text += choice.delta?.content ?? '';
      for (const tc of choice.delta?.tool_calls ?? []) {
        assert.equal(typeof tc.index, 'number');
        const c = (calls[tc.index] ??= { id: '', name: '', arguments: '' });
        if (tc.id) c.id += tc.id;
        if (tc.function?.name) c.name += tc.function.name;
        if (tc.function?.arguments) c.arguments += tc.function.arguments;
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  })(), 20_000, 'SDK tool-call stream');
  assert.equal(text, 'Okay, let me check.');
  assert.equal(calls.filter(Boolean).length, 1, JSON.stringify(calls));
  const call = calls.find(Boolean);
  assert.equal(call.id, STREAM_TOOL.id);
  assert.equal(call.name, STREAM_TOOL.name);
  assert.equal(call.arguments, STREAM_TOOL.jsonPieces.join(''));
  assert.equal(finish, 'tool_calls');

  const up = upstreamBody();
  assert.equal(up.stream, true);
  assert.equal(up.tools[0].name, 'get_weather');
  const row = await rowOf(id);
  assert.equal(row.prompt_tokens, STREAM_TOOL_USAGE.input_tokens);
  assert.equal(row.completion_tokens, STREAM_TOOL_USAGE.output_tokens);
  assert.equal(row.total_tokens, STREAM_TOOL_USAGE.input_tokens + STREAM_TOOL_USAGE.output_tokens);
});

ctx.test('translate: a streamed tool call through the SDK\'s stream helper (finalChatCompletion)', async () => {
  ctx.mock.setHandler(toolStreamHandler());
  const runner = client().chat.completions.stream({
    model: MODEL,
    messages: [{ role: 'user', content: 'Weather in San Francisco?' }],
    tools: [WEATHER_TOOL],
  });
  const final = await withTimeout(runner.finalChatCompletion(), 20_000, 'SDK stream helper');
  const msg = final.choices[0].message;
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  assert.equal(msg.content, 'Okay, let me check.');
  assert.equal(msg.tool_calls.length, 1);
  assert.equal(msg.tool_calls[0].id, STREAM_TOOL.id);
  assert.equal(msg.tool_calls[0].type, 'function');
  assert.equal(msg.tool_calls[0].function.name, STREAM_TOOL.name);
  assert.equal(msg.tool_calls[0].function.arguments, STREAM_TOOL.jsonPieces.join(''));
  assert.deepEqual(JSON.parse(msg.tool_calls[0].function.arguments), { city: 'San Francisco, CA', unit: 'fahrenheit' });
});

ctx.test('translate: unsupported fields → 400 OpenAI-style, nothing sent upstream', async () => {
  ctx.mock.setHandler(anthropicHandler());
  const cases = [
    { n: 2 },
    { logprobs: true },
    { temperature: 1.5 },
    { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: {} } } } },
  ];
  for (const extra of cases) {
    const res = await chat({ messages: [{ role: 'user', content: 'x' }], ...extra });
    assertOpenAIError(res, 400);
    assert.equal(ctx.mock.requests.length, 0, `sent upstream for ${JSON.stringify(extra)}`);
  }
});

ctx.test('translate: an Anthropic error → an OpenAI-style error body with its status', async () => {
  ctx.mock.setHandler((req, res) => sendAnthropicError(res, 400, 'invalid_request_error', 'messages.0.content: field required by mock'));
  const id = randomUUID();
  const res = await chat({ messages: [{ role: 'user', content: 'x' }] }, { id });
  const e = assertOpenAIError(res, 400, { type: 'invalid_request_error' });
  assert.ok(e.message.includes('messages.0.content: field required by mock'), `message: ${e.message}`);
  assert.equal(ctx.mock.requests.length, 1);
  const row = await rowOf(id);
  assert.equal(row.status, 400);

  ctx.mock.clear();
  ctx.mock.setHandler((req, res) => sendAnthropicError(res, 429, 'rate_limit_error', 'mock: slow down'));
  const res2 = await chat({ messages: [{ role: 'user', content: 'x' }] });
  const e2 = assertOpenAIError(res2, 429);
  assert.ok(e2.message.includes('mock: slow down'), `message: ${e2.message}`);
});

ctx.test('native /v1/messages on the same key is passed through unchanged', async () => {
  const answer = JSON.stringify(anthropicMessage(MODEL), null, 2) + '\n';
  ctx.mock.setHandler((req, res) => sendAnthropicJson(res, 200, answer));
  const body = '{"model":"claude-3-5-haiku-20241022","max_tokens":64,"messages":[{"role":"user","content":"native"}]}';
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/messages',
    headers: { 'x-api-key': VK, 'content-type': 'application/json' },
    body,
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.text, answer);
  assert.equal(ctx.mock.requests.length, 1);
  assert.equal(ctx.mock.requests[0].body.toString('utf8'), body);
});
