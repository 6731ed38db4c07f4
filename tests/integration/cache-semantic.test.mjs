// Semantic response cache ([cache] semantic = true): the prompt text is embedded through the
// embeddings key's own provider target (/v1/embeddings on the mock, which answers controlled
// vectors); a stored answer whose vector is at or above the threshold is a HIT with its
// similarity, below it a MISS; other non-message parameters, other keys and an embeddings key not
// allowed the model never match.

import assert from 'node:assert/strict';
import { useGateway } from './lib/suite.mjs';
import { chatCompletion, sendJson } from './lib/mock-upstream.mjs';
import { request } from './lib/http.mjs';

const ctx = useGateway({
  gateway: { processes: 1, threads: 4, env: { ALEPHANT_CACHE_SEMANTIC: 'true' } },
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
