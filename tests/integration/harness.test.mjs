// The test harness on its own (no gateway): the mock upstream answers like OpenAI, records
// requests byte-for-byte, holds a stream on a gate, and notices a client that goes away.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startMockUpstream, createGate, sseHead, sseSend, chatChunk, MOCK_TEXT, MOCK_USAGE, MOCK_STREAM_PIECES, MOCK_STREAM_USAGE, MOCK_MODELS } from './lib/mock-upstream.mjs';
import { request, streamRequest, rawRequest, streamText, eventJsons, pollUntil, withTimeout, assertOpenAIError } from './lib/http.mjs';

let mock;
before(async () => { mock = await startMockUpstream(); });
after(async () => { await mock.close(); });

test('mock: chat completion, recorded byte-for-byte', async () => {
  mock.clear();
  const body = '{ "model":"m1" ,\n "messages":[]}';
  const res = await request(mock.origin, { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-x' }, body });
  assert.equal(res.status, 200);
  assert.match(res.headers['x-request-id'], /^req_mock_/);
  const j = res.json();
  assert.equal(j.object, 'chat.completion');
  assert.equal(j.model, 'm1');
  assert.equal(j.choices[0].message.content, MOCK_TEXT);
  assert.deepEqual(j.usage, { ...MOCK_USAGE });
  assert.equal(mock.requests.length, 1);
  assert.equal(mock.requests[0].body.toString(), body);
  assert.equal(mock.requests[0].headers.authorization, 'Bearer sk-x');
});

test('mock: streaming with and without usage', async () => {
  for (const includeUsage of [false, true]) {
    const body = { model: 'm', stream: true, messages: [] };
    if (includeUsage) body.stream_options = { include_usage: true };
    const s = streamRequest(mock.origin, { body });
    await withTimeout(s.ended, 5000, 'stream end');
    assert.match(s.headers['content-type'], /^text\/event-stream/);
    assert.equal(s.events.at(-1).data, '[DONE]');
    assert.equal(streamText(s.events), MOCK_STREAM_PIECES.join(''));
    const usage = eventJsons(s.events).filter((j) => j.usage);
    assert.equal(usage.length, includeUsage ? 1 : 0);
    if (includeUsage) assert.deepEqual(usage[0].usage, { ...MOCK_STREAM_USAGE });
  }
});

test('mock: models list with query string', async () => {
  mock.clear();
  const res = await request(mock.origin, { path: '/v1/models?x=1' });
  assert.deepEqual(res.json().data.map((m) => m.id), [...MOCK_MODELS]);
  assert.equal(mock.requests[0].url, '/v1/models?x=1');
});

test('mock: gated stream and client disconnect detection', async () => {
  mock.clear();
  const gate = createGate();
  mock.setHandler(async (req, res) => {
    sseHead(res);
    sseSend(res, chatChunk('c', 'm', { content: 'one' }));
    await gate.promise;
    sseSend(res, chatChunk('c', 'm', { content: 'two' }));
    const t = setInterval(() => sseSend(res, chatChunk('c', 'm', { content: '.' })), 50);
    res.on('close', () => clearInterval(t));
  });
  const s = streamRequest(mock.origin, { body: { stream: true } });
  await s.waitForEvent((e) => e.data.includes('one'), 5000);
  assert.equal(s.events.length, 1);
  gate.open();
  await s.waitForEvent((e) => e.data.includes('two'), 5000);
  s.destroy();
  await pollUntil(() => mock.requests[0].closedByClient, 5000, 'close seen by mock');
  mock.resetHandler();
});

test('raw request and error assertion helpers', async () => {
  mock.setHandler((req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'no', type: 'invalid_request_error', code: 'invalid_api_key' } }));
  });
  const res = await rawRequest(mock.port, 'GET /v1/x HTTP/1.1\r\nHost: a\r\nX-Dup: 1\r\nX-Dup: 2\r\nConnection: close\r\n\r\n');
  assertOpenAIError(res, 401, { code: 'invalid_api_key', forbidden: ['secret'] });
  const rec = mock.requests.at(-1);
  assert.equal(rec.headers['x-dup'], '1, 2');
  mock.resetHandler();
});
