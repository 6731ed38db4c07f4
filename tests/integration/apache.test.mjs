// Deployment behind Apache 2.4 (mod_proxy_fcgi): starts Apache and spawn-fcgi workers exactly as
// `make run-apache` does — by running tools/run-apache.sh (it renders apache/standalone.conf and
// apache/alephant.conf into the state directory) — then checks what differs from lighttpd:
// Authorization reaching the gateway (CGIPassAuth), streams relayed chunk by chunk
// (flushpackets=on), request bodies streamed without CONTENT_LENGTH (chunked uploads, read to
// EOF), client disconnects, log rows, and that stopping it (Ctrl-C) leaves no process behind.
// Skipped, with a message, when Apache or spawn-fcgi is not installed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TOP_SRCDIR, TOP_BUILDDIR, GATEWAY_BIN, CTL_BIN, run, freePort } from './lib/gateway.mjs';
import {
  startMockUpstream, createGate, sseHead, sseSend, chatChunk, sendJson, chatCompletion, MOCK_TEXT,
} from './lib/mock-upstream.mjs';
import {
  request, postJson, chatBody, streamRequest, streamText, withTimeout, pollUntil, assertOpenAIError,
} from './lib/http.mjs';
import { newSecret } from './lib/suite.mjs';

const APACHE2 = process.env.APACHE2 || '/usr/sbin/apache2';
const APACHE_MODULES = process.env.APACHE_MODULES || '/usr/lib/apache2/modules';
const RUN_APACHE = path.join(TOP_SRCDIR, 'tools', 'run-apache.sh');
const MAX_REQUEST_BYTES = 1 << 20; // the gateway's body limit here (Apache's is 1 MiB more)

function findSpawnFcgi() {
  if (process.env.SPAWN_FCGI) return process.env.SPAWN_FCGI;
  for (const d of (process.env.PATH || '').split(':').concat(['/usr/bin', '/usr/sbin'])) {
    const p = path.join(d || '.', 'spawn-fcgi');
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}
const SPAWN_FCGI = findSpawnFcgi();

let SKIP = false;
if (!fs.existsSync(APACHE2)) {
  SKIP = `Apache not installed (${APACHE2} missing): apt-get install -y apache2 spawn-fcgi to run these tests`;
} else if (!fs.existsSync(path.join(APACHE_MODULES, 'mod_proxy_fcgi.so'))) {
  SKIP = `mod_proxy_fcgi not found in ${APACHE_MODULES}`;
} else if (!SPAWN_FCGI) {
  SKIP = 'spawn-fcgi not installed: apt-get install -y spawn-fcgi to run these tests';
}
if (SKIP) process.stdout.write(`# apache.test.mjs skipped: ${SKIP}\n`);

// ---- the instance: tools/run-apache.sh in its own process group ----

/** Processes (not zombies, not us) whose environment has ALEPHANT_HOME=<dir> or whose command line names dir. */
function processesOf(dir, extra = []) {
  const needle = Buffer.from(`ALEPHANT_HOME=${dir}\0`);
  const found = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent) || Number(ent) === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/${ent}/stat`, 'utf8');
      if (/\) Z /.test(stat)) continue;
      const cmdline = fs.readFileSync(`/proc/${ent}/cmdline`);
      const environ = fs.readFileSync(`/proc/${ent}/environ`);
      if (environ.includes(needle) || cmdline.includes(Buffer.from(dir)) || extra.some((s) => cmdline.includes(Buffer.from(s)))) {
        found.push({ pid: Number(ent), cmd: cmdline.toString('utf8').replace(/\0/g, ' ').trim() });
      }
    } catch { /* gone, or not ours to read */ }
  }
  return found;
}

function tryConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
  });
}

function appendOption(existing, extra) {
  return existing ? `${existing}:${extra}` : extra;
}

async function startApacheGateway({ processes = 2, threads = 8 } = {}) {
  const stateDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'alephant-it-apache-'));
  const port = await freePort();
  const env = {
    ...process.env,
    top_srcdir: TOP_SRCDIR,
    top_builddir: TOP_BUILDDIR,
    APACHE2,
    APACHE_MODULES,
    SPAWN_FCGI,
    PORT: String(port),
    ALEPHANT_HOME: stateDir,
    ALEPHANT_NO_DEMO: '1',
    ALEPHANT_PROCESSES: String(processes),
    ALEPHANT_THREADS: String(threads),
    ALEPHANT_ALLOW_PRIVATE_UPSTREAMS: '1',
    ALEPHANT_GATEWAY_MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES),
  };
  delete env.ALEPHANT_CONFIG;
  delete env.ALEPHANT_BIND;
  for (const s of ['ASAN', 'UBSAN', 'LSAN', 'TSAN']) {
    env[`${s}_OPTIONS`] = appendOption(process.env[`${s}_OPTIONS`], `log_path=${stateDir}/${s.toLowerCase()}`);
  }

  const inst = {
    stateDir, port, env, base: `http://127.0.0.1:${port}`, output: '', socket: null, exit: null, failed: false,
  };
  // detached: its own process group, so stop() can send SIGINT to the group as Ctrl-C does.
  const child = spawn('/bin/sh', [RUN_APACHE], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  inst.child = child;
  child.stdout.on('data', (c) => { inst.output += c; });
  child.stderr.on('data', (c) => { inst.output += c; });
  inst.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => { inst.exit = { code, signal }; resolve(inst.exit); });
    child.once('error', (e) => { inst.exit = { error: e.message }; resolve(inst.exit); });
  });

  inst.ctl = async (args, { input } = {}) => {
    const r = await run(CTL_BIN, args, { env, input });
    if (r.code !== 0) throw new Error(`alephantctl ${args.join(' ')} exited ${r.code ?? r.signal}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  inst.addProviderKey = ({ name, baseUrl, secret }) => inst.ctl(
    ['provider-key', 'add', '--name', name, '--provider', 'openai-compatible', '--base-url', baseUrl, '--key-stdin'],
    { input: secret + '\n' });
  inst.createVk = async ({ name, providerKey }) => {
    const out = await inst.ctl(['vk', 'create', '--name', name, '--provider-key', providerKey]);
    const m = out.match(/vk-[A-Za-z0-9_-]{20,}/);
    return m ? m[0] : out.trim();
  };
  inst.logs = async () => JSON.parse(await inst.ctl(['logs', 'list', '--limit', '1000', '--json']));
  /** Waits for the log row(s) matching pred, then a moment more so a duplicate would show. */
  inst.settledLogs = async (pred, { settleMs = 800, timeoutMs = 10_000 } = {}) => {
    await pollUntil(async () => (await inst.logs()).some(pred), timeoutMs, 'a log row');
    await sleep(settleMs);
    return (await inst.logs()).filter(pred);
  };
  inst.processes = () => processesOf(stateDir, inst.socket ? [inst.socket] : []);
  inst.workers = () => inst.processes().filter((p) => {
    try { return fs.readlinkSync(`/proc/${p.pid}/exe`) === fs.realpathSync(GATEWAY_BIN); } catch { return false; }
  });

  /** Ctrl-C: SIGINT to the script's process group; waits for it, then for every process of ours. */
  inst.stop = async () => {
    const problems = [];
    if (inst.exit === null) {
      try { process.kill(-child.pid, 'SIGINT'); } catch { /* gone */ }
      let timer;
      const done = await Promise.race([inst.exited, new Promise((r) => { timer = setTimeout(() => r(false), 40_000); })]);
      clearTimeout(timer);
      if (done === false) {
        problems.push('run-apache.sh did not exit within 40 s of SIGINT (killed)');
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
        await inst.exited;
      }
    }
    let left = inst.processes();
    const deadline = Date.now() + 10_000;
    while (left.length > 0 && Date.now() < deadline) { await sleep(100); left = inst.processes(); }
    if (left.length > 0) {
      problems.push(`processes still running after run-apache.sh exited (killed): ${JSON.stringify(left)}`);
      for (const p of left) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
    }
    if (inst.socket && fs.existsSync(path.dirname(inst.socket))) {
      problems.push(`socket directory ${path.dirname(inst.socket)} left behind`);
      await fsp.rm(path.dirname(inst.socket), { recursive: true, force: true });
    }
    for (const f of await fsp.readdir(stateDir).catch(() => [])) {
      if (!/^(asan|ubsan|lsan|tsan)/.test(f)) continue;
      const content = await fsp.readFile(path.join(stateDir, f), 'utf8').catch(() => '');
      if (content.trim() !== '') problems.push(`sanitizer report ${f}:\n${content}`);
    }
    if (problems.length > 0 || inst.failed) {
      process.stderr.write(`# kept ${stateDir} for debugging\n`);
      return problems;
    }
    await fsp.rm(stateDir, { recursive: true, force: true });
    return problems;
  };

  // Up when the script printed its banner, Apache accepts connections and the proxied path
  // answers from the gateway (a JSON 401 without a key).
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (inst.exit !== null) break;
    if (inst.output.includes('Press Ctrl-C to stop.') && await tryConnect(port)) {
      const m = inst.output.match(/gateway socket: (\S+)/);
      inst.socket = m ? m[1] : null;
      const r = await request(inst.base, { path: '/v1/models', timeoutMs: 5_000 }).catch(() => null);
      if (r && r.status === 401 && /json/.test(String(r.headers['content-type']))) return inst;
    }
    if (Date.now() > deadline) break;
    await sleep(100);
  }
  inst.failed = true;
  const errlog = await fsp.readFile(path.join(stateDir, 'apache-error.log'), 'utf8').catch(() => '(no apache-error.log)');
  const gwlog = await fsp.readFile(path.join(stateDir, 'gateway-error.log'), 'utf8').catch(() => '(no gateway-error.log)');
  await inst.stop();
  throw new Error(`run-apache.sh did not come up on port ${port} (${inst.exit ? 'exited ' + JSON.stringify(inst.exit) : 'timeout 30 s'}); ` +
    `state dir ${stateDir} kept.\n--- output ---\n${inst.output}\n--- apache-error.log ---\n${errlog}\n--- gateway-error.log ---\n${gwlog}`);
}

// ---- per-file setup ----

const ctx = { ap: null, mock: null, secret: newSecret(), vk: null, stopped: false };

before(async () => {
  if (SKIP) return;
  ctx.mock = await startMockUpstream();
  ctx.ap = await startApacheGateway();
  try {
    await ctx.ap.addProviderKey({ name: 'up', baseUrl: ctx.mock.baseUrl, secret: ctx.secret });
    ctx.vk = await ctx.ap.createVk({ name: 'apache-app', providerKey: 'up' });
  } catch (e) { ctx.ap.failed = true; throw e; }
}, { timeout: 90_000 });

after(async () => {
  try {
    if (ctx.ap && !ctx.stopped) await ctx.ap.stop();
  } finally {
    if (ctx.mock) await ctx.mock.close();
  }
}, { timeout: 90_000 });

function apTest(name, fn, opts = {}) {
  return test(name, { timeout: 60_000, skip: SKIP, ...opts }, async (t) => {
    ctx.mock.resetHandler();
    ctx.mock.clear();
    try {
      return await fn(t);
    } catch (e) {
      if (!opts.todo) ctx.ap.failed = true;
      throw e;
    }
  });
}

/** Asserts the virtual key never reached the upstream, and the provider key did. */
function assertKeyInjected(rec) {
  assert.equal(rec.headers.authorization, `Bearer ${ctx.secret}`, 'upstream Authorization is not the provider key');
  const seen = JSON.stringify(rec.rawHeaders) + rec.body.toString('latin1');
  assert.ok(!seen.includes(ctx.vk), 'the virtual key reached the upstream');
  assert.ok(!seen.includes(ctx.vk.slice(3, 15)), 'part of the virtual key reached the upstream');
}

/** A POST with Transfer-Encoding: chunked, the body written in pieces with pauses between. */
function chunkedPost(base, urlPath, pieces, headers, { pauseMs = 20, timeoutMs = 30_000 } = {}) {
  const url = new URL(urlPath, base);
  return withTimeout(new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, method: 'POST', path: url.pathname, agent: false,
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...headers },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    (async () => {
      for (const p of pieces) {
        if (req.destroyed) return;
        req.write(p);
        await sleep(pauseMs);
      }
      req.end();
    })();
  }), timeoutMs, `chunked POST ${urlPath}`);
}

// ---- the tests ----

apTest('the rendered configuration is the one in apache/ (flushpackets=on, CGIPassAuth, no enablereuse)', async () => {
  const conf = await fsp.readFile(path.join(ctx.ap.stateDir, 'apache', 'alephant.conf'), 'utf8');
  const active = (text) => text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
  assert.doesNotMatch(active(conf), /@[A-Z_]+@/, 'a placeholder was not replaced');
  assert.match(conf, /^ProxyPass "\/v1\/" "unix:[^|]+\|fcgi:\/\/localhost\/v1\/" .*flushpackets=on/m);
  assert.doesNotMatch(conf, /^[^#]*enablereuse=on/m);
  assert.match(conf, /^\s*CGIPassAuth On/m);
  const httpd = await fsp.readFile(path.join(ctx.ap.stateDir, 'apache', 'httpd.conf'), 'utf8');
  assert.match(httpd, new RegExp(`^Listen 127\\.0\\.0\\.1:${ctx.ap.port}$`, 'm'));
  assert.doesNotMatch(active(httpd), /@[A-Z_]+@/, 'a placeholder was not replaced');
  assert.doesNotMatch(active(httpd), /\/etc\/apache2/, 'the standalone config must not use /etc/apache2');
  assert.equal(ctx.ap.workers().length, 2, `gateway workers: ${JSON.stringify(ctx.ap.processes())}`);
  // the static page is served too
  const page = await request(ctx.ap.base, { path: '/' });
  assert.equal(page.status, 200);
  assert.match(page.text, /Alephant Gateway/);
});

apTest('a chat completion goes through Apache: provider key injected upstream, virtual key never seen there, logged', async () => {
  const id = randomUUID();
  const body = chatBody();
  const res = await postJson(ctx.ap.base, '/v1/chat/completions', body, { key: ctx.vk, headers: { 'x-request-id': id } });
  assert.equal(res.status, 200, res.text);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const j = res.json();
  assert.equal(j.object, 'chat.completion');
  assert.equal(j.choices[0].message.content, MOCK_TEXT);

  const [rec] = await ctx.mock.waitForRequests(1);
  assert.equal(rec.method, 'POST');
  assert.equal(rec.url, '/v1/chat/completions');
  assertKeyInjected(rec);
  assert.deepEqual(JSON.parse(rec.body.toString('utf8')).messages, body.messages);

  const rows = await ctx.ap.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1, JSON.stringify(rows));
  assert.equal(rows[0].status, 200);
  assert.equal(rows[0].virtual_key, 'apache-app');
  assert.equal(rows[0].model, 'gpt-4o-mini');
  assert.equal(rows[0].prompt_tokens, 11);
  assert.equal(rows[0].completion_tokens, 7);
});

apTest('Authorization reaches the gateway (CGIPassAuth): wrong key 401, good key 200, x-api-key 200', async () => {
  const wrong = await postJson(ctx.ap.base, '/v1/chat/completions', chatBody(), { key: 'vk-' + 'x'.repeat(43) });
  assertOpenAIError(wrong, 401, { forbidden: [ctx.secret] });
  const none = await postJson(ctx.ap.base, '/v1/chat/completions', chatBody());
  assertOpenAIError(none, 401);
  assert.equal(ctx.mock.requests.length, 0, 'a request without a valid key reached the upstream');

  const good = await postJson(ctx.ap.base, '/v1/chat/completions', chatBody(), { key: ctx.vk });
  assert.equal(good.status, 200, `Bearer key refused (is CGIPassAuth On?): ${good.text}`);
  const xkey = await postJson(ctx.ap.base, '/v1/chat/completions', chatBody(), { headers: { 'x-api-key': ctx.vk } });
  assert.equal(xkey.status, 200, xkey.text);
  const recs = await ctx.mock.waitForRequests(2);
  for (const rec of recs) assertKeyInjected(rec);
});

apTest('a stream is relayed chunk by chunk (flushpackets=on): the upstream holds the rest until the client has the first chunk', async () => {
  const gate = createGate();
  const FIRST = 'First chunk;';
  const REST = [' then', ' the', ' rest.'];
  ctx.mock.setHandler(async (req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    sseHead(res);
    sseSend(res, chatChunk('chatcmpl-ap', body.model, { role: 'assistant', content: '' }));
    sseSend(res, chatChunk('chatcmpl-ap', body.model, { content: FIRST }));
    await gate.promise;
    for (const p of REST) sseSend(res, chatChunk('chatcmpl-ap', body.model, { content: p }));
    sseSend(res, chatChunk('chatcmpl-ap', body.model, {}, 'stop'));
    sseSend(res, '[DONE]');
    res.end();
  });
  const id = randomUUID();
  const s = streamRequest(ctx.ap.base, {
    headers: { authorization: `Bearer ${ctx.vk}`, 'x-request-id': id },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'stream via apache' }] },
  });
  try {
    const { status, headers } = await withTimeout(s.response, 10_000, 'response headers of a stream');
    assert.equal(status, 200);
    assert.match(String(headers['content-type']), /^text\/event-stream/);
    await s.waitForEvent((e) => e.data.includes(FIRST), 10_000,
      'the first chunk while the upstream holds the rest (is Apache buffering? flushpackets=on missing?)');
  } finally {
    gate.open();
  }
  await withTimeout(s.ended, 15_000, 'end of the stream');
  assert.equal(streamText(s.events), FIRST + REST.join(''));
  assert.equal(s.events.at(-1).data, '[DONE]');
  assertKeyInjected(ctx.mock.requests[0]);
  const rows = await ctx.ap.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].status, 200);
  assert.ok(rows[0].stream === true || rows[0].stream === 1, `stream flag: ${rows[0].stream}`);
});

apTest('a chunked upload (no CONTENT_LENGTH under mod_proxy_fcgi) is read to its end', async () => {
  // ~300 KB of JSON in 64 pieces with pauses: the gateway sees a streamed body of unknown length.
  const filler = 'lorem ipsum '.repeat(25_000);
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `chunked ${randomUUID()} ${filler}` }] };
  const text = JSON.stringify(body);
  const pieces = [];
  const size = Math.ceil(text.length / 64);
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  const id = randomUUID();
  const res = await chunkedPost(ctx.ap.base, '/v1/chat/completions', pieces,
    { authorization: `Bearer ${ctx.vk}`, 'x-request-id': id }, { pauseMs: 5 });
  assert.equal(res.status, 200, res.text.slice(0, 500));
  assert.equal(res.json().choices[0].message.content, MOCK_TEXT);
  const [rec] = await ctx.mock.waitForRequests(1);
  const up = JSON.parse(rec.body.toString('utf8'));
  assert.equal(up.messages[0].content, body.messages[0].content, 'the upstream got a different (truncated?) body');
  assertKeyInjected(rec);
  const rows = await ctx.ap.settledLogs((r) => r.request_id === id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].status, 200);
});

apTest('a small chunked upload whose last piece comes late is still read whole', async () => {
  const body = JSON.stringify(chatBody());
  const cut = Math.floor(body.length / 2);
  const res = await chunkedPost(ctx.ap.base, '/v1/chat/completions', [body.slice(0, cut), body.slice(cut)],
    { authorization: `Bearer ${ctx.vk}` }, { pauseMs: 700 });
  assert.equal(res.status, 200, res.text.slice(0, 500));
  const [rec] = await ctx.mock.waitForRequests(1);
  assert.equal(rec.body.toString('utf8'), body);
});

apTest('a chunked upload above the gateway limit gets the gateway\'s JSON 413, not a truncated request', async () => {
  const big = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(MAX_REQUEST_BYTES + 200_000) }] });
  const pieces = [];
  for (let i = 0; i < big.length; i += 65536) pieces.push(big.slice(i, i + 65536));
  let res;
  try {
    res = await chunkedPost(ctx.ap.base, '/v1/chat/completions', pieces, { authorization: `Bearer ${ctx.vk}` }, { pauseMs: 1 });
  } catch (e) {
    // The answer may come while the client is still sending; node then reports the reset.
    assert.fail(`no answer to an oversized chunked upload: ${e.message}`);
  }
  assertOpenAIError({ ...res, body: Buffer.from(res.text) }, 413);
  assert.equal(ctx.mock.requests.length, 0, 'an oversized body reached the upstream');
});

apTest('a client that disconnects mid-stream closes the upstream and is logged once as client_disconnected', async () => {
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
    const s = streamRequest(ctx.ap.base, {
      headers: { authorization: `Bearer ${ctx.vk}`, 'x-request-id': id },
      body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'forever' }] },
    });
    await s.waitForEvent((e) => e.data.includes('tick0'), 10_000, 'the first content chunk');
    s.destroy();
    const recs = await ctx.mock.waitForRequests(1);
    await pollUntil(() => recs[0].closedByClient, 10_000,
      'the gateway to close the upstream connection after the client went away');
    const rows = await ctx.ap.settledLogs((r) => r.request_id === id, { settleMs: 1000 });
    assert.equal(rows.length, 1, `expected one log row, got ${JSON.stringify(rows)}`);
    assert.equal(rows[0].error_code, 'client_disconnected');
  } finally {
    clearInterval(timer);
  }
});

// mod_proxy_fcgi watches only the backend while it waits for the answer: when the client closes
// (FIN or RST) before the first response byte, Apache keeps the FastCGI connection open (still
// ESTABLISHED 8 s later in `ss -x`) until the gateway writes, so the gateway's
// poll(POLLRDHUP) cannot see the client leave and the upstream call runs to its end. Measured with
// Apache 2.4 mpm_event; the same holds for lighttpd with RST (streaming.test.mjs). Marked todo
// (reported, not failing) until Apache or the setup gives the gateway a way to see it.
apTest('a client that goes away while a non-streamed answer is pending closes the upstream', async () => {
  const gate = createGate();
  ctx.mock.setHandler(async (req, res) => { await gate.promise; if (!res.destroyed) sendJson(res, 200, chatCompletion('gpt-4o-mini')); });
  const id = randomUUID();
  const s = streamRequest(ctx.ap.base, {
    headers: { authorization: `Bearer ${ctx.vk}`, 'x-request-id': id },
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'slow' }] },
  });
  try {
    const recs = await ctx.mock.waitForRequests(1);
    s.destroy();
    await pollUntil(() => recs[0].closedByClient, 10_000,
      'the gateway to close the upstream connection after the client went away (non-streamed request)');
    const rows = await ctx.ap.settledLogs((r) => r.request_id === id, { settleMs: 1000 });
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.equal(rows[0].error_code, 'client_disconnected');
  } finally {
    gate.open();
  }
}, { todo: 'mod_proxy_fcgi does not close the FastCGI connection when the client leaves before any response byte' });

apTest('20 concurrent streams through Apache all complete intact', async () => {
  const streams = Array.from({ length: 20 }, (_, i) => streamRequest(ctx.ap.base, {
    headers: { authorization: `Bearer ${ctx.vk}` },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `parallel ${i}` }] },
  }));
  await withTimeout(Promise.all(streams.map((s) => s.ended)), 45_000, '20 concurrent streams');
  for (const s of streams) {
    assert.equal(s.status, 200);
    assert.equal(s.events.at(-1).data, '[DONE]');
  }
  assert.equal(ctx.mock.requests.length, 20);
});

// ---- admin ----
apTest('the admin program behind Apache: first-run account, login, an API call with the CSRF header, /administrator untouched', async () => {
  const { AdminClient, assertSecurityHeaders } = await import('./lib/admin-client.mjs');
  const m = /one-time password[^\n]*\n[^\n]*\n\s*\n\s*(\S+)/.exec(ctx.ap.output);
  assert.ok(m, `no one-time admin password in the run-apache.sh output:\n${ctx.ap.output}`);
  const c = new AdminClient(ctx.ap.base);
  const res = await c.login('admin', m[1]);
  assert.equal(res.status, 303, res.text);
  assertSecurityHeaders(res, 'login behind Apache');
  const keys = await c.get('/admin/keys');
  assert.equal(keys.status, 200);
  assert.match(keys.text, /<td>up<\/td>/);
  const add = await c.api('POST', '/admin/api/provider-keys', { name: 'apache-admin-key', provider: 'mock' });
  assert.equal(add.status, 201, add.text);
  const css = await request(ctx.ap.base, { path: '/admin/static/admin.css' });
  assert.equal(css.status, 200);
  assertSecurityHeaders(css, 'static asset behind Apache');
  const other = await request(ctx.ap.base, { path: '/administrator' });
  assert.equal(other.status, 404);
  assert.equal(other.headers['x-frame-options'], undefined);
});

apTest('Ctrl-C stops Apache and the spawn-fcgi workers: no process, socket or sanitizer report left', async () => {
  const before = ctx.ap.processes();
  assert.ok(before.some((p) => p.cmd.includes('apache2')), `no apache2 process found: ${JSON.stringify(before)}`);
  assert.equal(ctx.ap.workers().length, 2, JSON.stringify(before));
  ctx.stopped = true;
  const problems = await ctx.ap.stop();
  assert.deepEqual(problems, []);
  assert.ok(ctx.ap.exit && (ctx.ap.exit.code === 130 || ctx.ap.exit.signal === 'SIGINT'),
    `run-apache.sh exit: ${JSON.stringify(ctx.ap.exit)}\n${ctx.ap.output}`);
  for (const p of before) {
    let state = null;
    try { state = fs.readFileSync(`/proc/${p.pid}/stat`, 'utf8').match(/\) (\S) /)[1]; } catch { /* gone */ }
    assert.ok(state === null || state === 'Z', `process ${p.pid} (${p.cmd}) still running`);
  }
}, { timeout: 90_000 });


