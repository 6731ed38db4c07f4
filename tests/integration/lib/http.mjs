// http.mjs — HTTP clients for the tests, on node:http and node:net (not fetch), so the tests
// control every header byte and see every chunk as it arrives.

import http from 'node:http';
import net from 'node:net';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

const agent = new http.Agent({ keepAlive: false });

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function sha256hex(s) {
  return createHash('sha256').update(s).digest('hex');
}

/** Rejects with message after ms unless promise settles first. A failure guard, not a measurement. */
export function withTimeout(promise, ms, message) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${message}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/** Polls fn until it returns a truthy value; rejects after ms. */
export async function pollUntil(fn, ms, message) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${message}`);
    await sleep(50);
  }
}

function wrapResponse(res, body) {
  const text = body.toString('utf8');
  return {
    status: res.statusCode,
    headers: res.headers,
    rawHeaders: res.rawHeaders,
    body,
    text,
    json() {
      try { return JSON.parse(text); } catch (e) { throw new Error(`response is not JSON (status ${res.statusCode}): ${text.slice(0, 500)}`); }
    },
  };
}

/**
 * One request through node:http. headers: an object (array values send the header repeatedly)
 * or a flat raw array [name, value, name, value, ...] sent exactly in that order.
 * body: string | Buffer | object (JSON-encoded, content-type added unless given).
 * Resolves { status, headers, rawHeaders, body (Buffer), text, json() }.
 */
export function request(base, { method = 'GET', path = '/', headers = {}, body, timeoutMs = 30_000 } = {}) {
  const url = new URL(path, base);
  let payload = body;
  let hdrs = headers;
  if (payload !== undefined && !Buffer.isBuffer(payload) && typeof payload !== 'string') {
    payload = JSON.stringify(payload);
    if (!Array.isArray(hdrs) && !Object.keys(hdrs).some((k) => k.toLowerCase() === 'content-type')) {
      hdrs = { ...hdrs, 'content-type': 'application/json' };
    }
  }
  return withTimeout(new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, method, path: url.pathname + url.search, agent,
      headers: hdrs, setHost: true,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(wrapResponse(res, Buffer.concat(chunks))));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (payload !== undefined) req.end(payload); else req.end();
  }), timeoutMs, `${method} ${path}`);
}

/** Shorthand: POST JSON (object or exact string) with a virtual key. */
export function postJson(base, path, body, { key, headers = {}, ...rest } = {}) {
  const h = { 'content-type': 'application/json', ...headers };
  if (key !== undefined) h.authorization = `Bearer ${key}`;
  return request(base, { method: 'POST', path, headers: h, body: typeof body === 'string' ? body : JSON.stringify(body), ...rest });
}

export function chatBody(extra = {}) {
  return {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: `integration test ${randomUUID()}` }],
    ...extra,
  };
}

/**
 * Sends bytes exactly as given over a fresh TCP connection (use "Connection: close") and parses
 * the answer: { status, headers (lower-case, repeated joined with ', '), rawHeaderLines, body, text, json() }.
 */
export function rawRequest(port, bytes, { timeoutMs = 30_000 } = {}) {
  return withTimeout(new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const chunks = [];
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => {
      try { resolve(parseRawResponse(Buffer.concat(chunks))); } catch (e) { reject(e); }
      sock.destroy();
    });
  }), timeoutMs, 'raw request');
}

export function parseRawResponse(buf) {
  const sep = buf.indexOf('\r\n\r\n');
  if (sep < 0) throw new Error(`incomplete HTTP response: ${JSON.stringify(buf.toString('latin1').slice(0, 300))}`);
  const head = buf.subarray(0, sep).toString('latin1').split('\r\n');
  const m = head[0].match(/^HTTP\/1\.[01] (\d{3})/);
  if (!m) throw new Error(`bad status line: ${JSON.stringify(head[0])}`);
  const headers = {};
  const rawHeaderLines = head.slice(1);
  for (const line of rawHeaderLines) {
    const i = line.indexOf(':');
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  }
  let body = buf.subarray(sep + 4);
  if (/chunked/i.test(headers['transfer-encoding'] || '')) {
    const parts = [];
    let off = 0;
    for (;;) {
      const eol = body.indexOf('\r\n', off);
      if (eol < 0) break;
      const size = parseInt(body.subarray(off, eol).toString('latin1'), 16);
      if (!size) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      off = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  }
  const text = body.toString('utf8');
  return {
    status: Number(m[1]), headers, rawHeaderLines, body, text,
    json() { return JSON.parse(text); },
  };
}

/** Incremental SSE parsing of text: returns [events, rest]; an event is { data, raw }. */
export function parseSse(text) {
  const events = [];
  const norm = text.replace(/\r\n/g, '\n');
  let idx;
  let rest = norm;
  while ((idx = rest.indexOf('\n\n')) >= 0) {
    const block = rest.slice(0, idx);
    rest = rest.slice(idx + 2);
    const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
    if (block.split('\n').every((l) => l.startsWith(':') || l === '')) {
      events.push({ comment: true, raw: block });
      continue;
    }
    events.push({ data, raw: block });
  }
  return [events, rest];
}

/**
 * Starts a streaming request and exposes what arrives as it arrives:
 *   { response (promise of { status, headers }), chunks [{ at, data (Buffer) }], events (SSE events,
 *     comments excluded), text (everything so far), ended (promise, resolves at end of body),
 *     waitForEvent(pred, ms, what), waitForBytes(ms), destroy() }
 */
export function streamRequest(base, { method = 'POST', path = '/v1/chat/completions', headers = {}, body } = {}) {
  const url = new URL(path, base);
  const state = {
    chunks: [],
    events: [],
    comments: [],
    text: '',
    closed: false,
    error: null,
  };
  const waiters = new Set();
  const notify = () => { for (const w of waiters) w(); };
  let pending = '';
  let resolveResponse;
  let rejectResponse;
  let resolveEnded;
  let rejectEnded;
  state.response = new Promise((res, rej) => { resolveResponse = res; rejectResponse = rej; });
  state.ended = new Promise((res, rej) => { resolveEnded = res; rejectEnded = rej; });
  state.ended.catch(() => {});
  state.response.catch(() => {});

  const payload = body === undefined ? undefined : (typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
  const req = http.request({
    host: url.hostname, port: url.port, method, path: url.pathname + url.search, agent,
    headers: { 'content-type': 'application/json', ...headers },
  }, (res) => {
    state.status = res.statusCode;
    state.headers = res.headers;
    resolveResponse({ status: res.statusCode, headers: res.headers });
    res.on('data', (c) => {
      state.chunks.push({ at: Date.now(), data: c });
      const s = c.toString('utf8');
      state.text += s;
      pending += s;
      const [evs, rest] = parseSse(pending);
      pending = rest;
      for (const e of evs) (e.comment ? state.comments : state.events).push(e);
      notify();
    });
    res.on('end', () => { state.closed = true; resolveEnded(); notify(); });
    res.on('error', (e) => { state.error = e; rejectEnded(e); notify(); });
    res.on('aborted', () => { state.error = new Error('response aborted'); notify(); });
  });
  req.on('error', (e) => { state.error = e; rejectResponse(e); rejectEnded(e); notify(); });
  if (payload !== undefined) req.end(payload); else req.end();

  state.req = req;
  state.destroy = () => { req.destroy(); req.socket?.destroy(); };
  /** Closes the connection with a TCP RST (an abort lighttpd notices even before it writes). */
  state.reset = () => {
    if (req.socket && typeof req.socket.resetAndDestroy === 'function') req.socket.resetAndDestroy();
    req.destroy();
  };
  state.waitFor = (pred, ms = 10_000, what = 'condition') => new Promise((resolve, reject) => {
    const check = () => {
      const v = pred(state);
      if (v) { cleanup(); resolve(v); return; }
      if (state.error) { cleanup(); reject(new Error(`stream failed while waiting for ${what}: ${state.error.message}`)); return; }
      if (state.closed) { cleanup(); reject(new Error(`stream ended while waiting for ${what}; received: ${state.text.slice(0, 2000)}`)); }
    };
    const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out after ${ms} ms waiting for ${what}; received so far: ${JSON.stringify(state.text.slice(0, 2000))}`)); }, ms);
    const cleanup = () => { clearTimeout(timer); waiters.delete(check); };
    waiters.add(check);
    check();
  });
  state.waitForEvent = (pred, ms, what = 'an SSE event') => state.waitFor((s) => s.events.find(pred), ms, what);
  return state;
}

/** Parses the JSON of each data event other than [DONE]. */
export function eventJsons(events) {
  return events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data));
}

/** Reassembles the assistant text of chat.completion.chunk events. */
export function streamText(events) {
  return eventJsons(events).map((j) => (j.choices || []).map((c) => c.delta?.content ?? '').join('')).join('');
}

/**
 * Asserts an OpenAI-style error answer: status, application/json, body exactly
 * {"error":{"message":string,"type":string,"code":string|null}}. Optional code/type to match.
 * forbidden: strings that must not appear in the body. Returns the parsed error object.
 */
export function assertOpenAIError(res, status, { code, type, forbidden = [] } = {}) {
  const where = `(got ${res.status}: ${res.text.slice(0, 500)})`;
  assert.equal(res.status, status, `status ${where}`);
  assert.match(String(res.headers['content-type'] || ''), /^application\/json\b/i, `content-type ${where}`);
  let j;
  try { j = JSON.parse(res.text); } catch { assert.fail(`error body is not JSON ${where}`); }
  assert.equal(typeof j, 'object');
  assert.notEqual(j, null);
  assert.deepEqual(Object.keys(j), ['error'], `top-level keys ${where}`);
  const e = j.error;
  assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'type'], `error keys ${where}`);
  assert.equal(typeof e.message, 'string', `error.message ${where}`);
  assert.ok(e.message.length > 0, `error.message empty ${where}`);
  assert.equal(typeof e.type, 'string', `error.type ${where}`);
  assert.ok(e.code === null || typeof e.code === 'string', `error.code ${where}`);
  if (code !== undefined) assert.equal(e.code, code, `error.code ${where}`);
  if (type !== undefined) assert.equal(e.type, type, `error.type ${where}`);
  for (const f of forbidden) {
    if (f) assert.ok(!res.text.includes(f), `error body leaks ${JSON.stringify(f.slice(0, 20))}…: ${res.text.slice(0, 500)}`);
  }
  return e;
}
