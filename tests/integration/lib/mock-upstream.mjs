// mock-upstream.mjs — a fake OpenAI-compatible provider for the integration tests.
//
// A node:http server on 127.0.0.1 (port 0) that records every request it receives (method, url,
// headers, raw body bytes, and whether the client — the gateway — closed the connection before
// the answer was finished) and answers through a per-test replaceable handler. The default
// handler mimics OpenAI's chat completions (plain and streamed) and model listing.

import http from 'node:http';
import { randomUUID } from 'node:crypto';

export const MOCK_USAGE = Object.freeze({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
export const MOCK_STREAM_USAGE = Object.freeze({ prompt_tokens: 13, completion_tokens: 5, total_tokens: 18 });
export const MOCK_TEXT = 'Hello from the mock upstream.';
export const MOCK_STREAM_PIECES = Object.freeze(['Hello', ' from', ' the', ' streaming', ' mock.']);

/** A promise the test resolves when it wants: `await gate.promise` in a handler, `gate.open()` in the test. */
export function createGate() {
  let open;
  const promise = new Promise((resolve) => { open = resolve; });
  let isOpen = false;
  return { promise, open: (v) => { isOpen = true; open(v); }, get isOpen() { return isOpen; } };
}

export function mockRequestId() {
  return 'req_mock_' + randomUUID().replace(/-/g, '');
}

export function chatCompletion(model, { content = MOCK_TEXT, usage = MOCK_USAGE, id } = {}) {
  return {
    id: id ?? 'chatcmpl-mock' + randomUUID().replace(/-/g, '').slice(0, 20),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: model ?? 'gpt-4o-mini',
    choices: [{
      index: 0,
      message: { role: 'assistant', content, refusal: null },
      logprobs: null,
      finish_reason: 'stop',
    }],
    usage: { ...usage },
    system_fingerprint: 'fp_mock',
  };
}

export function chatChunk(id, model, delta, finishReason = null) {
  return {
    id,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: model ?? 'gpt-4o-mini',
    system_fingerprint: 'fp_mock',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
}

export function usageChunk(id, model, usage = MOCK_STREAM_USAGE) {
  return {
    id,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: model ?? 'gpt-4o-mini',
    system_fingerprint: 'fp_mock',
    choices: [],
    usage: { ...usage },
  };
}

/** Writes one SSE event `data: <json>\n\n` (objects are JSON-encoded, strings sent as they are). */
export function sseSend(res, data) {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  return res.write(`data: ${text}\n\n`);
}

export function sseHead(res, extraHeaders = {}) {
  const headers = {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-request-id': mockRequestId(),
    ...extraHeaders,
  };
  for (const [k, v] of Object.entries(headers)) if (v === null) delete headers[k];
  res.writeHead(200, headers);
  // Make sure the status line and headers leave now, not with the first chunk.
  res.flushHeaders();
}

/** Answers JSON. extraHeaders override the defaults; a null value removes a default header. */
export function sendJson(res, status, obj, extraHeaders = {}) {
  const body = typeof obj === 'string' ? obj : JSON.stringify(obj);
  const headers = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': mockRequestId(),
    'openai-processing-ms': '3',
    ...extraHeaders,
  };
  for (const [k, v] of Object.entries(headers)) if (v === null) delete headers[k];
  res.writeHead(status, headers);
  res.end(body);
}

function parseJson(buf) {
  try { return JSON.parse(buf.toString('utf8')); } catch { return undefined; }
}

/** Streams the canned pieces (+ a usage chunk when asked) and [DONE]. */
export function streamDefault(res, body, { pieces = MOCK_STREAM_PIECES, usage = MOCK_STREAM_USAGE } = {}) {
  const id = 'chatcmpl-mockstream' + randomUUID().replace(/-/g, '').slice(0, 12);
  const model = body?.model;
  sseHead(res);
  sseSend(res, chatChunk(id, model, { role: 'assistant', content: '' }));
  for (const p of pieces) sseSend(res, chatChunk(id, model, { content: p }));
  sseSend(res, chatChunk(id, model, {}, 'stop'));
  if (body?.stream_options?.include_usage === true) sseSend(res, usageChunk(id, model, usage));
  sseSend(res, '[DONE]');
  res.end();
}

export const MOCK_MODELS = Object.freeze(['gpt-4o-mini', 'gpt-4o', 'mock-model-1']);

/** The default handler: OpenAI-like answers. */
export function defaultHandler(req, res, rec) {
  const path = rec.url.split('?')[0];
  if (req.method === 'POST' && path === '/v1/chat/completions') {
    const body = parseJson(rec.body);
    if (!body || typeof body !== 'object') {
      return sendJson(res, 400, { error: { message: 'mock: body is not JSON', type: 'invalid_request_error', param: null, code: null } });
    }
    if (body.stream === true) return streamDefault(res, body);
    return sendJson(res, 200, chatCompletion(body.model));
  }
  if (req.method === 'GET' && path === '/v1/models') {
    return sendJson(res, 200, {
      object: 'list',
      data: MOCK_MODELS.map((id) => ({ id, object: 'model', created: 1700000000, owned_by: 'mock' })),
    });
  }
  return sendJson(res, 404, { error: { message: `mock: no route ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } });
}

/**
 * Starts the mock. Returns
 *   { port, origin, baseUrl ("http://127.0.0.1:PORT/v1"), requests (array of records),
 *     setHandler(fn), resetHandler(), clear(), waitForRequests(n, ms), waitFor(pred, ms), close() }
 * A record: { method, url, headers (lower-case names; repeated ones joined as node does),
 *   rawHeaders (flat [name, value, ...] as received), body (Buffer), receivedAt,
 *   closedByClient (true once the connection closed before our answer ended), closed (promise
 *   resolved when that happens), finished (true once our answer was fully written) }.
 * handler(req, res, rec) is called after the whole body is read.
 */
export async function startMockUpstream() {
  let handler = defaultHandler;
  const requests = [];
  const waiters = new Set();
  const sockets = new Set();

  const notify = () => { for (const w of waiters) w(); };

  const server = http.createServer((req, res) => {
    const chunks = [];
    const rec = {
      method: req.method,
      url: req.url,
      headers: { ...req.headers },
      rawHeaders: [...req.rawHeaders],
      body: Buffer.alloc(0),
      receivedAt: Date.now(),
      closedByClient: false,
      finished: false,
    };
    let resolveClosed;
    rec.closed = new Promise((r) => { resolveClosed = r; });
    const markClosed = () => {
      if (!res.writableFinished && !rec.closedByClient) {
        rec.closedByClient = true;
        rec.closedAt = Date.now();
        resolveClosed();
        notify();
      }
    };
    res.on('finish', () => { rec.finished = true; notify(); });
    res.on('close', markClosed);
    req.on('close', () => { if (req.destroyed && !req.complete) markClosed(); });
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      rec.body = Buffer.concat(chunks);
      requests.push(rec);
      notify();
      let r;
      try {
        r = handler(req, res, rec);
      } catch (e) {
        r = Promise.reject(e);
      }
      Promise.resolve(r).catch((e) => {
        rec.handlerError = e;
        if (!res.headersSent) {
          try { sendJson(res, 500, { error: { message: 'mock handler failed: ' + e.message, type: 'mock_error', code: null } }); } catch { /* gone */ }
        } else {
          res.destroy();
        }
      });
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.keepAliveTimeout = 30_000;

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = server.address().port;

  const waitFor = (pred, ms = 10_000, what = 'condition') => new Promise((resolve, reject) => {
    const check = () => {
      let v;
      try { v = pred(); } catch (e) { cleanup(); reject(e); return; }
      if (v) { cleanup(); resolve(v); }
    };
    const timer = setTimeout(() => { cleanup(); reject(new Error(`mock upstream: timed out after ${ms} ms waiting for ${what}`)); }, ms);
    const cleanup = () => { clearTimeout(timer); waiters.delete(check); };
    waiters.add(check);
    check();
  });

  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    setHandler(fn) { handler = fn; },
    resetHandler() { handler = defaultHandler; },
    clear() { requests.length = 0; },
    waitFor,
    waitForRequests(n, ms = 10_000) {
      return waitFor(() => requests.length >= n && requests, ms, `${n} request(s) (have ${requests.length})`);
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
