// Usage detail and cost in the log rows: cached and reasoning tokens, cost_nanos from the seeded
// list prices and from `price set`, exactly as (prompt − cached)×input + cached×cached_input +
// completion×output per million tokens rounded to the nano-dollar; unknown models and answers
// without usage flagged; Anthropic cache tokens counted into the prompt and priced.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { useGateway } from './lib/suite.mjs';
import { request, streamRequest, eventJsons, streamText, withTimeout } from './lib/http.mjs';
import { chatCompletion, sendJson, streamDefault, MOCK_STREAM_PIECES } from './lib/mock-upstream.mjs';
import { anthropicHandler, anthropicMessage, anthropicStreamEvents } from './lib/anthropic-mock.mjs';

let VK;
let VK_CLAUDE;
let VK_DEMO;

const ctx = useGateway({
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'oa', provider: 'openai', baseUrl: mock.baseUrl, secret });
    VK = await gw.createVk({ name: 'cost-app', providerKey: 'oa' });
    await gw.addProviderKey({ name: 'claude', provider: 'anthropic', baseUrl: mock.origin, secret });
    VK_CLAUDE = await gw.createVk({ name: 'cost-claude', providerKey: 'claude' });
    await gw.addProviderKey({ name: 'demo', provider: 'mock' });
    VK_DEMO = await gw.createVk({ name: 'cost-demo', providerKey: 'demo' });
  },
});

// prompt 1000 of which 200 cached, completion 500 of which 64 reasoning
const DETAILED_USAGE = Object.freeze({
  prompt_tokens: 1000,
  completion_tokens: 500,
  total_tokens: 1500,
  prompt_tokens_details: { cached_tokens: 200, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 64, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
});
// gpt-4o-mini: 800 × 150 + 200 × 75 + 500 × 600 nano-dollars
const GPT_4O_MINI_COST = 800 * 150 + 200 * 75 + 500 * 600;

/** OpenAI-style answers with the given usage (none when usage is null). */
function usageHandler(usage) {
  return (req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    if (body.stream === true) return streamDefault(res, body, { usage });
    const answer = chatCompletion(body.model, { usage: usage ?? {} });
    if (usage === null) delete answer.usage;
    return sendJson(res, 200, answer);
  };
}

function chat(vk, body) {
  const id = randomUUID();
  return request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${vk}`, 'content-type': 'application/json', 'x-request-id': id },
    body: JSON.stringify({ messages: [{ role: 'user', content: `cost ${id}` }], ...body }),
  }).then((res) => Object.assign(res, { id }));
}

async function rowOf(id) {
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  return rows[0];
}

/** "0.000435000" for 435000 nano-dollars. */
function usd(nanos) {
  const s = String(nanos).padStart(10, '0');
  return `${s.slice(0, -9)}.${s.slice(-9)}`;
}

function assertCost(row, nanos) {
  const where = JSON.stringify({ cost_nanos: row.cost_nanos, cost_usd: row.cost_usd, cost_flag: row.cost_flag, prompt: row.prompt_tokens, cached: row.cached_tokens, completion: row.completion_tokens, model: row.model });
  assert.equal(row.cost_nanos, nanos, `cost_nanos ${where}`);
  assert.equal(row.cost_usd, usd(nanos), `cost_usd ${where}`);
  assert.equal(row.cost_flag, null, `cost_flag ${where}`);
}

ctx.test('seeded list prices are listed (gpt-4o-mini, claude-3-5-haiku)', async () => {
  const prices = JSON.parse(await ctx.gw.ctl(['price', 'list', '--json']));
  const mini = prices.find((p) => p.model === 'gpt-4o-mini');
  assert.ok(mini, 'no gpt-4o-mini price');
  assert.equal(mini.input_per_mtok, 150_000_000);
  assert.equal(mini.output_per_mtok, 600_000_000);
  assert.equal(mini.cached_input_per_mtok, 75_000_000);
  const haiku = prices.find((p) => p.model === 'claude-3-5-haiku');
  assert.ok(haiku, 'no claude-3-5-haiku price');
  assert.equal(haiku.input_per_mtok, 800_000_000);
  assert.equal(haiku.output_per_mtok, 4_000_000_000);
  assert.equal(haiku.cached_input_per_mtok, 80_000_000);
});

ctx.test('gpt-4o-mini: cached and reasoning tokens recorded, exact cost in nano-dollars', async () => {
  ctx.mock.setHandler(usageHandler(DETAILED_USAGE));
  const res = await chat(VK, { model: 'gpt-4o-mini' });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json().usage, DETAILED_USAGE, 'usage changed on the way to the client');
  const row = await rowOf(res.id);
  assert.equal(row.prompt_tokens, 1000);
  assert.equal(row.completion_tokens, 500);
  assert.equal(row.total_tokens, 1500);
  assert.equal(row.cached_tokens, 200);
  assert.equal(row.reasoning_tokens, 64);
  assert.equal(GPT_4O_MINI_COST, 435000);
  assertCost(row, 435000);
  assert.equal(row.cost_usd, '0.000435000');
});

ctx.test('a dated variant (gpt-4o-mini-2024-07-18) is priced like its model', async () => {
  ctx.mock.setHandler(usageHandler(DETAILED_USAGE));
  const res = await chat(VK, { model: 'gpt-4o-mini-2024-07-18' });
  assert.equal(res.status, 200, res.text);
  assertCost(await rowOf(res.id), GPT_4O_MINI_COST);
});

ctx.test('a stream: usage asked upstream, priced, and not shown to a client that did not ask', async () => {
  ctx.mock.setHandler(usageHandler(DETAILED_USAGE));
  const id = randomUUID();
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK}`, 'x-request-id': id },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'stream cost' }] },
  });
  await withTimeout(s.ended, 20_000, 'stream');
  assert.equal(s.status, 200, s.text);
  assert.equal(streamText(s.events), MOCK_STREAM_PIECES.join(''));
  assert.equal(s.events.at(-1).data, '[DONE]');
  assert.ok(!eventJsons(s.events).some((j) => j.usage), 'a usage chunk the client did not ask for');
  assert.equal(JSON.parse(ctx.mock.requests[0].body.toString('utf8')).stream_options?.include_usage, true);
  const row = await rowOf(id);
  assert.equal(row.prompt_tokens, 1000);
  assert.equal(row.cached_tokens, 200);
  assert.equal(row.reasoning_tokens, 64);
  assertCost(row, GPT_4O_MINI_COST);
});

ctx.test('an unknown model: tokens recorded, cost null, flag unknown_model', async () => {
  ctx.mock.setHandler(usageHandler(DETAILED_USAGE));
  const res = await chat(VK, { model: 'acme-unpriced-model-9' });
  assert.equal(res.status, 200, res.text);
  const row = await rowOf(res.id);
  assert.equal(row.prompt_tokens, 1000);
  assert.equal(row.completion_tokens, 500);
  assert.equal(row.cached_tokens, 200);
  assert.equal(row.reasoning_tokens, 64);
  assert.equal(row.cost_nanos, null);
  assert.equal(row.cost_usd, null);
  assert.equal(row.cost_flag, 'unknown_model');
});

ctx.test('an answer without usage: cost null, flag no_usage', async () => {
  ctx.mock.setHandler(usageHandler(null));
  const res = await chat(VK, { model: 'gpt-4o-mini' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().usage, undefined);
  const row = await rowOf(res.id);
  assert.equal(row.cost_nanos, null);
  assert.equal(row.cost_flag, 'no_usage');
});

ctx.test('price set: a new model is priced from now; cached input defaults to the input price', async () => {
  await ctx.gw.setPrice({ model: 'acme-priced-1', provider: 'acme', input: '2', output: '3', cachedInput: '0.5' });
  await ctx.gw.setPrice({ model: 'acme-priced-2', provider: 'acme', input: '1', output: '0' });
  const listed = JSON.parse(await ctx.gw.ctl(['price', 'list', '--json'])).find((p) => p.model === 'acme-priced-1');
  assert.ok(listed, 'the new price is not listed');
  assert.equal(listed.input_per_mtok, 2_000_000_000);
  assert.equal(listed.cached_input_per_mtok, 500_000_000);

  const usage = { prompt_tokens: 1234, completion_tokens: 567, total_tokens: 1801, prompt_tokens_details: { cached_tokens: 234 } };
  ctx.mock.setHandler(usageHandler(usage));
  const res = await chat(VK, { model: 'acme-priced-1' });
  assert.equal(res.status, 200, res.text);
  // 1000 × 2000 + 234 × 500 + 567 × 3000
  assertCost(await rowOf(res.id), 2_000_000 + 117_000 + 1_701_000);

  ctx.mock.setHandler(usageHandler({ prompt_tokens: 1000, completion_tokens: 5, total_tokens: 1005, prompt_tokens_details: { cached_tokens: 400 } }));
  const res2 = await chat(VK, { model: 'acme-priced-2' });
  assert.equal(res2.status, 200, res2.text);
  assertCost(await rowOf(res2.id), 1000 * 1000);
});

ctx.test('the total is rounded to the nearest nano-dollar (not each part, not truncated)', async () => {
  // 0.0007 USD per million tokens = 0.7 nano-dollars a token: 2 × 0.7 + 2 × 0.7 = 2.8 → 3
  await ctx.gw.setPrice({ model: 'acme-tiny', provider: 'acme', input: '0.0007', output: '0.0007' });
  ctx.mock.setHandler(usageHandler({ prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 }));
  const res = await chat(VK, { model: 'acme-tiny' });
  assert.equal(res.status, 200, res.text);
  const row = await rowOf(res.id);
  assertCost(row, 3);
  assert.equal(row.cost_usd, '0.000000003');
});

ctx.test('the price in force applies: a price effective in the future does not', async () => {
  await ctx.gw.setPrice({ model: 'acme-dated', provider: 'acme', input: '1', output: '1', effective: '2020-01-01' });
  await ctx.gw.setPrice({ model: 'acme-dated', provider: 'acme', input: '100', output: '100', effective: '2999-01-01' });
  ctx.mock.setHandler(usageHandler({ prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 }));
  const res = await chat(VK, { model: 'acme-dated' });
  assert.equal(res.status, 200, res.text);
  assertCost(await rowOf(res.id), 20 * 1000);
});

// Anthropic: prompt = input + cache_read + cache_creation; cached = cache_read.
const CACHE_USAGE = Object.freeze({ input_tokens: 100, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200, output_tokens: 50 });
// claude-3-5-haiku: (1300 − 1000) × 800 + 1000 × 80 + 50 × 4000
const HAIKU_COST = 300 * 800 + 1000 * 80 + 50 * 4000;

function assertCacheRow(row) {
  assert.equal(row.prompt_tokens, 1300);
  assert.equal(row.cached_tokens, 1000);
  assert.equal(row.completion_tokens, 50);
  assert.equal(row.total_tokens, 1350);
  assert.equal(HAIKU_COST, 520000);
  assertCost(row, HAIKU_COST);
}

ctx.test('anthropic /v1/messages: cache tokens counted and priced (claude-3-5-haiku)', async () => {
  ctx.mock.setHandler(anthropicHandler((body) => ({ message: anthropicMessage(body.model, { usage: CACHE_USAGE }) })));
  const id = randomUUID();
  const res = await request(ctx.gw.base, {
    method: 'POST', path: '/v1/messages',
    headers: { 'x-api-key': VK_CLAUDE, 'content-type': 'application/json', 'x-request-id': id },
    body: JSON.stringify({ model: 'claude-3-5-haiku-20241022', max_tokens: 64, messages: [{ role: 'user', content: 'cached' }] }),
  });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json().usage, CACHE_USAGE);
  assertCacheRow(await rowOf(id));
});

ctx.test('anthropic stream: cache tokens from message_start priced', async () => {
  ctx.mock.setHandler(anthropicHandler((body) => ({ events: anthropicStreamEvents(body.model, { usage: CACHE_USAGE }) })));
  const id = randomUUID();
  const s = streamRequest(ctx.gw.base, {
    path: '/v1/messages',
    headers: { 'x-api-key': VK_CLAUDE, 'x-request-id': id },
    body: { model: 'claude-3-5-haiku-20241022', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'cached stream' }] },
  });
  await withTimeout(s.ended, 20_000, 'anthropic stream');
  assert.equal(s.status, 200, s.text);
  assertCacheRow(await rowOf(id));
});

ctx.test('translated chat completion: Anthropic cache tokens in OpenAI usage and priced', async () => {
  ctx.mock.setHandler(anthropicHandler((body) => ({ message: anthropicMessage(body.model, { usage: CACHE_USAGE }) })));
  const res = await chat(VK_CLAUDE, { model: 'claude-3-5-haiku-20241022' });
  assert.equal(res.status, 200, res.text);
  const u = res.json().usage;
  assert.equal(u.prompt_tokens, 1300);
  assert.equal(u.completion_tokens, 50);
  assert.equal(u.total_tokens, 1350);
  assert.equal(u.prompt_tokens_details?.cached_tokens, 1000);
  assertCacheRow(await rowOf(res.id));
});

ctx.test('the built-in mock provider costs 0', async () => {
  const res = await chat(VK_DEMO, { model: 'gpt-4o-mini' });
  assert.equal(res.status, 200, res.text);
  const row = await rowOf(res.id);
  assert.equal(row.provider, 'mock');
  assertCost(row, 0);
  assert.equal(row.cost_usd, '0.000000000');
});
