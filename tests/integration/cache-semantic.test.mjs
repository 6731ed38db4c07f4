// Semantic response cache ([cache] semantic = true): the prompt text is embedded through the
// embeddings key's own provider target (/v1/embeddings on the mock, which answers controlled
// vectors); a stored answer whose vector is at or above the threshold is a HIT with its
// similarity, below it a MISS; other non-message parameters, other keys and an embeddings key not
// allowed the model never match; a stored vector that expired after the worker indexed it is
// never served (the search re-reads each candidate's vector from cache.db), the next best live
// one is.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after } from 'node:test';
import { useGateway } from './lib/suite.mjs';
import { chatCompletion, sendJson } from './lib/mock-upstream.mjs';
import { request } from './lib/http.mjs';

const clockFile = `/tmp/alephant-cache-sem-clock-${process.pid}`;
fs.writeFileSync(clockFile, '0');
after(() => fs.rmSync(clockFile, { force: true }));

const ctx = useGateway({
  gateway: {
    processes: 1,
    threads: 4,
    env: { ALEPHANT_CACHE_SEMANTIC: 'true', ALEPHANT_TEST_CACHE_CLOCK_OFFSET_FILE: clockFile },
  },
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'up', baseUrl: mock.baseUrl, secret });
    ctx.vk = await gw.createVk({ name: 'app', providerKey: 'up' });
    ctx.vkOther = await gw.createVk({ name: 'other', providerKey: 'up' });
    ctx.vkEmb = await gw.createVk({ name: 'emb', providerKey: 'up', models: 'text-embedding-3-small' });
    ctx.vkNoEmb = await gw.createVk({ name: 'noemb', providerKey: 'up', models: 'gpt-4o-mini' });
  },
});

// cos(cats, kittens) = 0.97, cos(cats, felines) = 0.90, dogs orthogonal.
const VECTORS = {
  cats: [1, 0, 0, 0],
  kittens: [0.97, Math.sqrt(1 - 0.97 * 0.97), 0, 0],
  felines: [0.9, 0, Math.sqrt(1 - 0.81), 0],
  dogs: [0, 0, 0, 1],
};

let answers = 0;
function handler() {
  return (req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    if (rec.url.startsWith('/v1/embeddings')) {
      const word = Object.keys(VECTORS).find((w) => String(body.input).includes(w)) ?? 'dogs';
      return sendJson(res, 200, {
        object: 'list', model: body.model,
        data: [{ object: 'embedding', index: 0, embedding: VECTORS[word] }],
        usage: { prompt_tokens: 3, total_tokens: 3 },
      });
    }
    answers += 1;
    return sendJson(res, 200, chatCompletion(body.model, { content: `answer ${answers}` }));
  };
}

function chat(vk, text, headers = {}, extra = {}) {
  return request(ctx.gw.base, {
    method: 'POST',
    path: '/v1/chat/completions',
    headers: {
      authorization: `Bearer ${vk}`, 'content-type': 'application/json',
      'Alephant-Cache-Enabled': 'true', 'Alephant-Embeddings-Model': 'text-embedding-3-small',
      'Alephant-Cache-Seed': seed, ...headers,
    },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], ...extra }),
  });
}

let seed = '';
let n = 0;
function freshSeed() { n += 1; seed = `sem-${process.pid}-${n}`; }

function chatCalls() { return ctx.mock.requests.filter((r) => r.url.startsWith('/v1/chat')).length; }

ctx.test('a similar prompt at or above the threshold is a semantic hit; below it a miss', async () => {
  ctx.mock.setHandler(handler());
  freshSeed();
  const a = await chat(ctx.vk, 'tell me about cats');
  assert.equal(a.status, 200);
  assert.equal(a.headers['alephant-cache'], 'MISS');
  const emb = ctx.mock.requests.find((r) => r.url.startsWith('/v1/embeddings'));
  assert.ok(emb, 'the prompt was embedded through the provider');
  assert.equal(JSON.parse(emb.body).model, 'text-embedding-3-small');
  assert.match(JSON.parse(emb.body).input, /^user: tell me about cats\n$/);
  assert.equal(emb.headers.authorization, `Bearer ${ctx.secret}`);

  const b = await chat(ctx.vk, 'tell me about kittens');
  assert.equal(b.headers['alephant-cache'], 'HIT');
  assert.equal(b.headers['alephant-cache-bucket-idx'], '0');
  assert.ok(Math.abs(Number(b.headers['alephant-cache-similarity']) - 0.97) < 1e-3);
  assert.equal(b.json().choices[0].message.content, a.json().choices[0].message.content);
  const [row] = await ctx.gw.waitForLogs((r) => r.request_id === b.headers['alephant-id']);
  assert.equal(row.cache_status, 'HIT');
  assert.equal(row.cache_kind, 'semantic');
  assert.ok(Math.abs(row.cache_similarity - 0.97) < 1e-3);
  assert.equal(row.cache_source_request_id, a.headers['alephant-id']);

  const c = await chat(ctx.vk, 'tell me about felines'); // 0.90 < 0.95
  assert.equal(c.headers['alephant-cache'], 'MISS');
  const d = await chat(ctx.vk, 'tell me about kittens', { 'Alephant-Cache-Semantic-Threshold': '0.99' });
  assert.equal(d.headers['alephant-cache'], 'MISS', '0.97 is below a 0.99 threshold');
  const e = await chat(ctx.vk, 'tell me about felines', { 'Alephant-Cache-Semantic-Threshold': '0.9' });
  assert.equal(e.headers['alephant-cache'], 'HIT');
  assert.equal(chatCalls(), 3);
});

ctx.test('a vector that expired after it was indexed is never served; the next best live one is', async () => {
  ctx.mock.setHandler(handler());
  freshSeed();
  try {
    const cats = await chat(ctx.vk, 'cats of old', { 'Alephant-Cache-Ttl': '60' });
    assert.equal(cats.headers['alephant-cache'], 'MISS');
    const felines = await chat(ctx.vk, 'felines of old'); // 0.90 to cats: a miss, saved
    assert.equal(felines.headers['alephant-cache'], 'MISS');
    // The worker's index now holds both; kittens is 0.97 to cats, 0.873 to felines.
    const k1 = await chat(ctx.vk, 'kittens of old', { 'Alephant-Cache-Semantic-Threshold': '0.85' });
    assert.equal(k1.headers['alephant-cache'], 'HIT');
    assert.equal(k1.json().choices[0].message.content, cats.json().choices[0].message.content);

    fs.writeFileSync(clockFile, '120'); // cats has expired; nothing new to index
    const k2 = await chat(ctx.vk, 'kittens of old!', { 'Alephant-Cache-Semantic-Threshold': '0.85' });
    assert.equal(k2.headers['alephant-cache'], 'HIT');
    assert.equal(k2.json().choices[0].message.content, felines.json().choices[0].message.content,
      'the expired best is no match: the next best live vector is served');
    assert.ok(Math.abs(Number(k2.headers['alephant-cache-similarity']) - 0.97 * 0.9) < 1e-3);
    const [row] = await ctx.gw.waitForLogs((r) => r.request_id === k2.headers['alephant-id']);
    assert.equal(row.cache_source_request_id, felines.headers['alephant-id']);

    const k3 = await chat(ctx.vk, 'kittens of old?'); // threshold 0.95: only the expired one was close enough
    assert.equal(k3.headers['alephant-cache'], 'MISS');
    assert.notEqual(k3.json().choices[0].message.content, cats.json().choices[0].message.content);
  } finally {
    fs.writeFileSync(clockFile, '0');
  }
});

ctx.test('other parameters, other keys and other seeds never match', async () => {
  ctx.mock.setHandler(handler());
  freshSeed();
  assert.equal((await chat(ctx.vk, 'cats please')).headers['alephant-cache'], 'MISS');
  assert.equal((await chat(ctx.vk, 'kittens please', {}, { temperature: 1 })).headers['alephant-cache'], 'MISS');
  assert.equal((await chat(ctx.vkOther, 'kittens please')).headers['alephant-cache'], 'MISS');
  assert.equal((await chat(ctx.vk, 'cats please', { 'Alephant-Embeddings-Model': 'other-embedder' })).headers['alephant-cache'], 'HIT',
    'an exact hit needs no embedding');
  assert.equal((await chat(ctx.vk, 'kittens please', { 'Alephant-Embeddings-Model': 'other-embedder' })).headers['alephant-cache'], 'MISS');
  assert.equal((await chat(ctx.vk, 'kittens please')).headers['alephant-cache'], 'HIT');
});

ctx.test('Alephant-Embeddings-Key: a key allowed the model is used; one that is not makes a miss', async () => {
  ctx.mock.setHandler(handler());
  freshSeed();
  const a = await chat(ctx.vkNoEmb, 'cats again');
  assert.equal(a.headers['alephant-cache'], 'MISS');
  assert.equal(ctx.mock.requests.filter((r) => r.url.startsWith('/v1/embeddings')).length, 0,
    'the request key may not use the embeddings model');
  const b = await chat(ctx.vkNoEmb, 'cats again!', { 'Alephant-Embeddings-Key': ctx.vkEmb });
  assert.equal(b.headers['alephant-cache'], 'MISS');
  assert.equal(ctx.mock.requests.filter((r) => r.url.startsWith('/v1/embeddings')).length, 1);
  const c = await chat(ctx.vkNoEmb, 'kittens again', { 'Alephant-Embeddings-Key': ctx.vkEmb });
  assert.equal(c.headers['alephant-cache'], 'HIT');
  const d = await chat(ctx.vkNoEmb, 'kittens again?', { 'Alephant-Embeddings-Key': 'vk-not-a-real-key' });
  assert.equal(d.headers['alephant-cache'], 'MISS');
  // None of the cache headers went upstream.
  for (const r of ctx.mock.requests) for (const h of Object.keys(r.headers)) assert.ok(!/^alephant-/.test(h), h);
});

ctx.test('an invalid threshold is a 400 naming the header', async () => {
  freshSeed();
  const r = await chat(ctx.vk, 'cats', { 'Alephant-Cache-Semantic-Threshold': '1.5' });
  assert.equal(r.status, 400);
  assert.match(r.json().error.message, /Alephant-Cache-Semantic-Threshold/);
});

async function embeddingRows(parentId) {
  return JSON.parse(await ctx.gw.ctl(['logs', 'list', '--property', `cache_embedding_for=${parentId}`, '--json']));
}

async function embBudget() {
  const b = JSON.parse(await ctx.gw.ctl(['budget', 'list', '--json'])).find((x) => x.scope === 'virtual_key' && x.name === 'emb');
  assert.ok(b, 'the embeddings key has a budget');
  return b;
}

ctx.test('the embedding call has its own log row, priced, charged to the embeddings key\'s budget', async () => {
  ctx.mock.setHandler(handler());
  freshSeed();
  // 0.02 USD per million tokens (20 nano-dollars a token): the mock reports 3 prompt tokens →
  // 60 nano-dollars. The reservation counts every byte of the text as a token (≈ 800 nanos),
  // within a hard limit of 1000.
  await ctx.gw.setPrice({ model: 'text-embedding-3-small', provider: 'openai', input: '0.02', output: '0' });
  await ctx.gw.ctl(['vk', 'update', 'emb', '--budget', '0.000001', '--budget-period', 'monthly']);
  const spent0 = (await embBudget()).spent_nanos;
  assert.equal(spent0, 0);

  const embBefore = ctx.mock.requests.filter((r) => r.url.startsWith('/v1/embeddings')).length;
  const a = await chat(ctx.vkNoEmb, 'cats on a budget', { 'Alephant-Embeddings-Key': ctx.vkEmb });
  assert.equal(a.headers['alephant-cache'], 'MISS');
  assert.equal(ctx.mock.requests.filter((r) => r.url.startsWith('/v1/embeddings')).length, embBefore + 1, 'the prompt was embedded');
  const parentId = a.headers['alephant-id'];
  await ctx.gw.waitForLogs((r) => r.request_id === parentId);
  let rows = [];
  for (let i = 0; i < 60 && rows.length === 0; i++) {
    rows = await embeddingRows(parentId);
    if (rows.length === 0) await new Promise((r) => setTimeout(r, 150));
  }
  assert.equal(rows.length, 1, 'one log row for the embedding call, linked to the request');
  const [e] = rows;
  assert.notEqual(e.request_id, parentId);
  assert.equal(e.virtual_key, 'emb', 'logged under the embeddings key');
  assert.equal(e.model, 'text-embedding-3-small');
  assert.equal(e.path, '/v1/embeddings');
  assert.equal(e.status, 200);
  assert.equal(e.prompt_tokens, 3);
  assert.equal(e.total_tokens, 3);
  assert.equal(e.cost_nanos, 60);
  const [parent] = await ctx.gw.waitForLogs((r) => r.request_id === parentId);
  assert.equal(parent.virtual_key, 'noemb');
  assert.equal(parent.cache_status, 'MISS');

  const b = await embBudget();
  assert.equal(b.spent_nanos, 60, 'the embeddings key paid for its call');
  assert.equal(b.reserved_nanos, 0);

  // An exact hit embeds nothing: no second row.
  const hit = await chat(ctx.vkNoEmb, 'cats on a budget', { 'Alephant-Embeddings-Key': ctx.vkEmb });
  assert.equal(hit.headers['alephant-cache'], 'HIT');
  await ctx.gw.waitForLogs((r) => r.request_id === hit.headers['alephant-id']);
  assert.equal((await embeddingRows(hit.headers['alephant-id'])).length, 0);

  // A budget that cannot cover the call refuses it: no embedding call, a plain miss, answered.
  await ctx.gw.ctl(['vk', 'update', 'emb', '--budget', '0.00000005', '--budget-period', 'monthly']);
  const embCalls = ctx.mock.requests.filter((r) => r.url.startsWith('/v1/embeddings')).length;
  const c = await chat(ctx.vkNoEmb, 'kittens on a budget', { 'Alephant-Embeddings-Key': ctx.vkEmb });
  assert.equal(c.status, 200);
  assert.equal(c.headers['alephant-cache'], 'MISS');
  assert.equal(ctx.mock.requests.filter((r) => r.url.startsWith('/v1/embeddings')).length, embCalls,
    'the exhausted budget refused the embedding call');
  await ctx.gw.waitForLogs((r) => r.request_id === c.headers['alephant-id']);
  assert.equal((await embeddingRows(c.headers['alephant-id'])).length, 0);
  assert.equal((await embBudget()).reserved_nanos, 0);
  await ctx.gw.ctl(['vk', 'update', 'emb', '--no-budget']);
});
