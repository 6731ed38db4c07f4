// Streaming (Server-Sent Events): chunks are relayed as they arrive (a gate holds the upstream
// until the client has the first chunk, so a buffering gateway fails by timeout), usage is
// collected for the log without showing the client a usage chunk it did not ask for, and a
// client that goes away mid-stream closes the upstream connection and is logged once.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { useGateway } from './lib/suite.mjs';
import { streamRequest, eventJsons, streamText, pollUntil, withTimeout } from './lib/http.mjs';
import {
  createGate, sseHead, sseSend, sendJson, chatChunk, usageChunk, MOCK_STREAM_USAGE, MOCK_STREAM_PIECES,
} from './lib/mock-upstream.mjs';

let VK;

const ctx = useGateway({
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'up', provider: 'openai-compatible', baseUrl: mock.baseUrl, secret });
    VK = await gw.createVk({ name: 'stream-app', providerKey: 'up' });
  },
});

const FIRST = 'First chunk;';
const REST = [' then', ' the', ' rest', ' after', ' the', ' gate.'];

/** Upstream: role + first content chunk, wait for the gate, then the rest, usage if asked, [DONE]. */
function gatedHandler(gate, sent) {
  return async (req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    const id = 'chatcmpl-gated';
    sseHead(res);
    const send = (obj) => { sent.push(typeof obj === 'string' ? obj : JSON.stringify(obj)); sseSend(res, obj); };
    send(chatChunk(id, body.model, { role: 'assistant', content: '' }));
    send(chatChunk(id, body.model, { content: FIRST }));
    await gate.promise;
    for (const p of REST) send(chatChunk(id, body.model, { content: p }));
    send(chatChunk(id, body.model, {}, 'stop'));
    if (body.stream_options?.include_usage === true) send(usageChunk(id, body.model, MOCK_STREAM_USAGE));
    send('[DONE]');
    res.end();
  };
}

async function gatedStream({ includeUsage }) {
  const gate = createGate();
  const sent = [];
  ctx.mock.setHandler(gatedHandler(gate, sent));
  const id = randomUUID();
  const body = { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `stream ${id}` }] };
  if (includeUsage) body.stream_options = { include_usage: true };
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK}`, 'x-request-id': id },
    body,
  });
  try {
    const { status, headers } = await withTimeout(s.response, 10_000, 'response headers of a stream');
    assert.equal(status, 200);
    assert.match(String(headers['content-type']), /^text\/event-stream/);
    // The upstream is blocked on the gate: only a gateway that relays chunks as they come lets
    // this chunk through now. A buffering gateway times out here.
    await s.waitForEvent((e) => e.data.includes(FIRST), 10_000,
      'the first chunk while the upstream holds the rest (is the gateway buffering the stream?)');
  } finally {
    gate.open();
  }
  await withTimeout(s.ended, 15_000, 'end of the stream');
  return { s, id, sent };
}

ctx.test('a stream is relayed chunk by chunk; no usage chunk when the client did not ask', async () => {
  const { s, id } = await gatedStream({ includeUsage: false });
  assert.equal(s.events.at(-1).data, '[DONE]');
  assert.equal(s.events.filter((e) => e.data === '[DONE]').length, 1);
  assert.equal(streamText(s.events), FIRST + REST.join(''));
  const jsons = eventJsons(s.events);
  for (const j of jsons) {
    assert.equal(j.object, 'chat.completion.chunk');
    assert.ok(Array.isArray(j.choices) && j.choices.length > 0, `client got a chunk without choices: ${JSON.stringify(j)}`);
    assert.ok(j.usage === undefined || j.usage === null, `client got usage it did not ask for: ${JSON.stringify(j)}`);
  }
  // the gateway asked the upstream for usage so that it can log tokens
  assert.equal(ctx.mock.requests.length, 1);
  const up = JSON.parse(ctx.mock.requests[0].body.toString('utf8'));
  assert.equal(up.stream, true);
  assert.equal(up.stream_options?.include_usage, true);

  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  const row = rows[0];
  assert.equal(row.status, 200);
  assert.ok(row.stream === true || row.stream === 1, `stream flag: ${row.stream}`);
  assert.equal(row.prompt_tokens, MOCK_STREAM_USAGE.prompt_tokens);
  assert.equal(row.completion_tokens, MOCK_STREAM_USAGE.completion_tokens);
  assert.equal(row.total_tokens, MOCK_STREAM_USAGE.total_tokens);
  assert.equal(row.model, 'gpt-4o-mini');
  assert.equal(row.provider, 'openai-compatible');
  assert.equal(row.virtual_key, 'stream-app');
  assert.equal(row.error_code ?? null, null);
  assert.ok(String(row.response_body).includes(FIRST), 'response_body lacks the streamed text');
});

ctx.test('a stream with stream_options.include_usage keeps the usage chunk for the client', async () => {
  const { s, id, sent } = await gatedStream({ includeUsage: true });
  assert.equal(s.events.at(-1).data, '[DONE]');
  assert.equal(streamText(s.events), FIRST + REST.join(''));
  const usageEvents = eventJsons(s.events).filter((j) => j.usage);
  assert.equal(usageEvents.length, 1, 'expected exactly one usage chunk');
  assert.deepEqual(usageEvents[0].usage, { ...MOCK_STREAM_USAGE });
  assert.deepEqual(usageEvents[0].choices, []);
  // every event the upstream sent reached the client, in order and unchanged
  assert.deepEqual(s.events.map((e) => e.data), sent);

  const up = JSON.parse(ctx.mock.requests[0].body.toString('utf8'));
  assert.equal(up.stream_options?.include_usage, true);
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].prompt_tokens, MOCK_STREAM_USAGE.prompt_tokens);
  assert.equal(rows[0].completion_tokens, MOCK_STREAM_USAGE.completion_tokens);
  assert.equal(rows[0].total_tokens, MOCK_STREAM_USAGE.total_tokens);
});

ctx.test('a client that disconnects mid-stream closes the upstream and is logged once as client_disconnected', async () => {
  let timer = null;
  ctx.mock.setHandler((req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    sseHead(res);
    sseSend(res, chatChunk('chatcmpl-forever', body.model, { role: 'assistant', content: '' }));
    let n = 0;
    timer = setInterval(() => {
      if (res.destroyed || rec.closedByClient) { clearInterval(timer); return; }
      sseSend(res, chatChunk('chatcmpl-forever', body.model, { content: `tick${n++} ` }));
    }, 100);
    rec.closed.then(() => clearInterval(timer));
  });
  try {
    const id = randomUUID();
    const s = streamRequest(ctx.gw.base, {
      headers: { authorization: `Bearer ${VK}`, 'x-request-id': id },
      body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'forever' }] },
    });
    await s.waitForEvent((e) => e.data.includes('tick0'), 10_000, 'the first content chunk');
    s.destroy();

    const rec = await ctx.mock.waitForRequests(1);
    await pollUntil(() => rec[0].closedByClient, 10_000,
      'the gateway to close the upstream connection after the client went away');

    const rows = await ctx.gw.settledLogs((r) => r.request_id === id, { settleMs: 1000 });
    assert.equal(rows.length, 1, `expected one log row, got ${JSON.stringify(rows)}`);
    assert.equal(rows[0].error_code, 'client_disconnected');
    assert.ok(rows[0].stream === true || rows[0].stream === 1);
  } finally {
    clearInterval(timer);
  }
});

ctx.test('an upstream stream that breaks mid-way ends with an SSE error event, logged once', async () => {
  const gate = createGate();
  ctx.mock.setHandler(async (req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    sseHead(res);
    sseSend(res, chatChunk('chatcmpl-broken', body.model, { content: 'partial' }));
    await gate.promise;
    res.socket.destroy(); // no [DONE], connection cut
  });
  const id = randomUUID();
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK}`, 'x-request-id': id },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'break' }] },
  });
  try {
    await s.waitForEvent((e) => e.data.includes('partial'), 10_000, 'the chunk before the break');
  } finally {
    gate.open();
  }
  await withTimeout(s.ended.catch(() => {}), 15_000, 'end of the broken stream');
  assert.ok(!s.events.some((e) => e.data === '[DONE]'), 'a [DONE] the upstream never sent');
  const last = s.events.at(-1);
  assert.match(last.raw, /^event: error$/m, `last event: ${JSON.stringify(last.raw)}`);
  const err = JSON.parse(last.data);
  assert.deepEqual(Object.keys(err), ['error']);
  assert.equal(typeof err.error.message, 'string');
  assert.equal(typeof err.error.type, 'string');
  assert.ok(!s.text.includes(ctx.secret));
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  assert.equal(typeof rows[0].error_code, 'string', `error_code: ${rows[0].error_code}`);
});

ctx.test('30 concurrent streams all complete intact', async () => {
  const streams = Array.from({ length: 30 }, (_, i) => streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK}` },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `parallel ${i}` }] },
  }));
  await withTimeout(Promise.all(streams.map((s) => s.ended)), 60_000, '30 concurrent streams');
  for (const s of streams) {
    assert.equal(s.status, 200);
    assert.equal(s.events.at(-1).data, '[DONE]');
    assert.equal(streamText(s.events), MOCK_STREAM_PIECES.join(''));
    assert.ok(!eventJsons(s.events).some((j) => j.usage), 'usage chunk the client did not ask for');
  }
  assert.equal(ctx.mock.requests.length, 30);
});

ctx.test('while the upstream is silent mid-stream the client gets SSE keep-alive comments', async () => {
  const gate = createGate();
  const sent = [];
  ctx.mock.setHandler(gatedHandler(gate, sent));
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK}` },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'keepalive' }] },
  });
  try {
    await s.waitForEvent((e) => e.data.includes(FIRST), 10_000, 'the first chunk');
    // [gateway] stream_keepalive_ms defaults to 1000: a comment line must come while we wait
    await s.waitFor((st) => st.comments.length > 0, 10_000, 'an SSE comment while the upstream is silent');
  } finally {
    gate.open();
  }
  await withTimeout(s.ended, 15_000, 'end of the stream');
  assert.equal(streamText(s.events), FIRST + REST.join(''));
  assert.equal(s.events.at(-1).data, '[DONE]');
});

// lighttpd cannot tell a client that closed (FIN) from one that only half-closed while it has
// nothing to write yet, so it can only notice an abort before the first response byte when the
// connection is reset (RST), which is what this test does. Even then lighttpd 1.4.69 sometimes
// keeps the FastCGI connection open (in a loop of 8 such requests, 1-4 were never noticed within
// 15 s while the others were within ~200 ms; with Connection: close or keep-alive alike), so the
// gateway never learns the client left and waits for the upstream until its own timeouts. Marked
// todo (reported, not failing) until lighttpd or the setup gives the gateway a way to see it.
ctx.test('a client that aborts (RST) before a non-streamed answer closes the upstream and is logged once', {
  todo: 'lighttpd does not always close the FastCGI connection when the client resets before any response byte',
}, async () => {
  ctx.mock.setHandler(() => { /* never answers; the gateway must give up when the client goes */ });
  const id = randomUUID();
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK}`, 'x-request-id': id },
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'slow' }] },
  });
  const recs = await ctx.mock.waitForRequests(1);
  s.reset();
  await pollUntil(() => recs[0].closedByClient, 10_000,
    'the gateway to close the upstream connection after the client went away');
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id, { settleMs: 1000 });
  assert.equal(rows.length, 1, JSON.stringify(rows));
  assert.equal(rows[0].error_code, 'client_disconnected');
});

/** Writes text in small pieces with a pause between, as a slow or fragmenting network would. */
async function writeFragmented(res, text, size = 7) {
  for (let i = 0; i < text.length; i += size) {
    res.write(text.slice(i, i + size));
    await new Promise((r) => setImmediate(r));
  }
}

ctx.test('SSE split into tiny fragments, with CRLF line ends and "data:" without a space, is relayed intact', async () => {
  const pieces = ['Frag', 'mented', ' but', ' whole', '.'];
  ctx.mock.setHandler(async (req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    sseHead(res);
    let text = '';
    const ev = (obj) => { text += `data:${typeof obj === 'string' ? obj : JSON.stringify(obj)}\r\n\r\n`; };
    ev(chatChunk('chatcmpl-frag', body.model, { role: 'assistant', content: '' }));
    for (const p of pieces) ev(chatChunk('chatcmpl-frag', body.model, { content: p }));
    ev(chatChunk('chatcmpl-frag', body.model, {}, 'stop'));
    if (body.stream_options?.include_usage) ev(usageChunk('chatcmpl-frag', body.model));
    ev('[DONE]');
    await writeFragmented(res, text);
    res.end();
  });
  const id = randomUUID();
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK}`, 'x-request-id': id },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'fragments' }] },
  });
  await withTimeout(s.ended, 15_000, 'fragmented stream');
  assert.equal(streamText(s.events), pieces.join(''));
  assert.equal(s.events.at(-1).data, '[DONE]');
  assert.ok(!eventJsons(s.events).some((j) => j.usage), 'the usage chunk the gateway asked for reached the client');
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].prompt_tokens, MOCK_STREAM_USAGE.prompt_tokens);
  assert.equal(rows[0].completion_tokens, MOCK_STREAM_USAGE.completion_tokens);
});

ctx.test('a large SSE event (200 KB) is relayed intact', async () => {
  const big = 'x'.repeat(200 * 1024);
  ctx.mock.setHandler(async (req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    sseHead(res);
    sseSend(res, chatChunk('chatcmpl-big', body.model, { content: big }));
    sseSend(res, '[DONE]');
    res.end();
  });
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK}` },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'big' }] },
  });
  await withTimeout(s.ended, 15_000, 'big stream');
  assert.equal(s.status, 200);
  assert.equal(streamText(s.events), big);
  assert.equal(s.events.at(-1).data, '[DONE]');
});

ctx.test('a stream request the upstream refuses with a JSON error is relayed as that JSON error', async () => {
  const errBody = '{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}';
  ctx.mock.setHandler((req, res) => sendJson(res, 429, errBody, { 'retry-after': '3' }));
  const s = streamRequest(ctx.gw.base, {
    headers: { authorization: `Bearer ${VK}` },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'limited' }] },
  });
  await withTimeout(s.ended, 15_000, 'refused stream');
  assert.equal(s.status, 429);
  assert.match(String(s.headers['content-type']), /^application\/json/);
  assert.equal(s.headers['retry-after'], '3');
  assert.equal(s.text, errBody);
});
