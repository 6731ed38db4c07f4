// Plain CGI: the same alephant-gateway binary started by lighttpd's mod_cgi, one process per
// request (no FastCGI socket). A non-streaming round-trip through the mock upstream with the
// virtual key arriving as HTTP_AUTHORIZATION, the program mounted below a prefix (SCRIPT_NAME is
// dropped from REQUEST_URI), a stream relayed chunk by chunk (the upstream holds the rest until
// the client has the first chunk), a client that goes away mid-stream, and the log row every
// request writes before its process exits.
//
// lighttpd is configured here rather than from the FastCGI template: /v1/ is aliased to the
// gateway binary (through a symlink in a cgi-bin directory of the state directory), so
// REQUEST_URI stays /v1/…; /cgi-bin/ maps the directory itself.

import assert from 'node:assert/strict';
import { before, after, beforeEach, test } from 'node:test';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LIGHTTPD, GATEWAY_BIN, CTL_BIN, ADMIN_BIN, TOP_SRCDIR, freePort, run } from './lib/gateway.mjs';
import { AdminClient, addAdminUser, assertSecurityHeaders } from './lib/admin-client.mjs';
import { request, streamRequest, eventJsons, streamText, pollUntil, withTimeout } from './lib/http.mjs';
import {
  startMockUpstream, createGate, sseHead, sseSend, chatChunk, usageChunk, MOCK_USAGE, MOCK_TEXT,
  MOCK_STREAM_USAGE, MOCK_MODELS,
} from './lib/mock-upstream.mjs';
import { newSecret } from './lib/suite.mjs';

const ctx = { stateDir: null, env: null, port: 0, base: '', lighttpd: null, lighttpdExit: null, mock: null, vk: null, failed: false };
const SECRET = newSecret();

function appendOption(existing, extra) {
  return existing ? `${existing}:${extra}` : extra;
}

/** A lighttpd configuration string literal. */
function q(s) {
  return '"' + String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

async function ctl(args, { input } = {}) {
  const r = await run(CTL_BIN, args, { env: ctx.env, input });
  if (r.code !== 0) throw new Error(`alephantctl ${args.join(' ')} exited ${r.code ?? r.signal}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function logs() {
  return JSON.parse(await ctl(['logs', 'list', '--limit', '1000', '--json']));
}

async function waitForLog(pred, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await logs();
    const hit = rows.filter(pred);
    if (hit.length > 0) return hit;
    if (Date.now() > deadline) throw new Error(`no matching log row after ${timeoutMs} ms; newest: ${JSON.stringify(rows.slice(0, 3)).slice(0, 2000)}`);
    await sleep(100);
  }
}

/** Gateway processes of this instance still alive (each CGI request is one; they must exit). */
function gatewayProcesses() {
  const found = [];
  const needle = Buffer.from(`ALEPHANT_HOME=${ctx.stateDir}\0`);
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent) || Number(ent) === process.pid) continue;
    try {
      if (/\) Z /.test(fs.readFileSync(`/proc/${ent}/stat`, 'utf8'))) continue;
      if (!fs.readFileSync(`/proc/${ent}/environ`).includes(needle)) continue;
      if (fs.readlinkSync(`/proc/${ent}/exe`) !== fs.realpathSync(GATEWAY_BIN)) continue;
      found.push(Number(ent));
    } catch { /* gone, or not ours */ }
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

before(async () => {
  for (const [what, p] of [['lighttpd', LIGHTTPD], ['alephant-gateway', GATEWAY_BIN], ['alephantctl', CTL_BIN]]) {
    if (!fs.existsSync(p)) throw new Error(`${what} not found at ${p}`);
  }
  ctx.mock = await startMockUpstream();
  ctx.stateDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'alephant-it-'));
  ctx.port = await freePort();
  ctx.base = `http://127.0.0.1:${ctx.port}`;
  const env = { ...process.env, ALEPHANT_HOME: ctx.stateDir, ALEPHANT_ALLOW_PRIVATE_UPSTREAMS: '1' };
  delete env.ALEPHANT_CONFIG;
  for (const san of ['ASAN', 'UBSAN', 'LSAN', 'TSAN']) {
    env[`${san}_OPTIONS`] = appendOption(process.env[`${san}_OPTIONS`], `log_path=${ctx.stateDir}/${san.toLowerCase()}`);
  }
  ctx.env = env;

  await ctl(['init']);
  await ctl(['provider-key', 'add', '--name', 'up', '--provider', 'openai-compatible', '--base-url', ctx.mock.baseUrl, '--key-stdin'],
    { input: SECRET + '\n' });
  const out = await ctl(['vk', 'create', '--name', 'cgi-app', '--provider-key', 'up']);
  ctx.vk = out.match(/vk-[A-Za-z0-9_-]{20,}/)[0];

  // The CGI program: a symlink to the built gateway (lighttpd follows it and runs the binary).
  const cgiDir = path.join(ctx.stateDir, 'cgi-bin');
  await fsp.mkdir(cgiDir);
  await fsp.symlink(GATEWAY_BIN, path.join(cgiDir, 'alephant-gateway'));
  await fsp.symlink(ADMIN_BIN, path.join(cgiDir, 'alephant-admin'));

  // mod_cgi hands the program only the CGI variables: the gateway's own settings (and the
  // sanitizer options of a sanitizer build) are added with setenv.
  const cgiEnv = ['ALEPHANT_HOME', 'ALEPHANT_ALLOW_PRIVATE_UPSTREAMS', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS', 'TSAN_OPTIONS']
    .map((k) => `${q(k)} => ${q(env[k])}`).join(', ');
  const conf = `
server.modules += ( "mod_alias", "mod_cgi", "mod_setenv" )
server.bind          = "127.0.0.1"
server.port          = ${ctx.port}
server.document-root = ${q(path.join(TOP_SRCDIR, 'www'))}
server.errorlog      = ${q(path.join(ctx.stateDir, 'lighttpd-error.log'))}
server.max-request-field-size = 65536
server.stream-response-body = 2
server.stream-request-body  = 0
setenv.add-environment = ( ${cgiEnv} )

# Mounted at /v1/: REQUEST_URI is /v1/... as under FastCGI (PATH_INFO is the rest).
$HTTP["url"] =~ "^/v1/" {
  alias.url = ( "/v1/" => ${q(cgiDir + '/alephant-gateway/')} )
  cgi.assign = ( "" => "" )
  cgi.execute-x-only = "enable"
}
# The admin program, also one process per request: /admin/... (SCRIPT_NAME /admin).
$HTTP["url"] =~ "^/admin(/|$)" {
  alias.url = ( "/admin" => ${q(cgiDir + '/alephant-admin')} )
  cgi.assign = ( "" => "" )
  cgi.execute-x-only = "enable"
}
# Mounted below a prefix: /cgi-bin/alephant-gateway/v1/... (the gateway drops SCRIPT_NAME).
$HTTP["url"] =~ "^/cgi-bin/" {
  alias.url = ( "/cgi-bin/" => ${q(cgiDir + '/')} )
  cgi.assign = ( "" => "" )
  cgi.execute-x-only = "enable"
}
`;
  const confPath = path.join(ctx.stateDir, 'lighttpd-cgi.conf');
  await fsp.writeFile(confPath, conf);

  const lt = spawn(LIGHTTPD, ['-D', '-f', confPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  ctx.lighttpd = lt;
  let ltOutput = '';
  lt.stdout.on('data', (c) => { ltOutput += c; });
  lt.stderr.on('data', (c) => { ltOutput += c; });
  ctx.lighttpdExited = new Promise((resolve) => {
    lt.once('exit', (code, signal) => { ctx.lighttpdExit = { code, signal }; resolve(true); });
    lt.once('error', (e) => { ctx.lighttpdExit = { error: e }; resolve(true); });
  });
  const deadline = Date.now() + 20_000;
  while (!(await tryConnect(ctx.port))) {
    if (ctx.lighttpdExit !== null || Date.now() > deadline) {
      ctx.failed = true;
      throw new Error(`lighttpd (mod_cgi) did not start: ${JSON.stringify(ctx.lighttpdExit)}\n${ltOutput}`);
    }
    await sleep(100);
  }
}, { timeout: 60_000 });

beforeEach(() => {
  ctx.mock?.resetHandler();
  ctx.mock?.clear();
});

after(async () => {
  const problems = [];
  try {
    if (ctx.lighttpd && ctx.lighttpdExit === null) {
      ctx.lighttpd.kill('SIGTERM');
      await Promise.race([ctx.lighttpdExited, sleep(15_000)]);
      if (ctx.lighttpdExit === null) { problems.push('lighttpd did not exit on SIGTERM'); ctx.lighttpd.kill('SIGKILL'); }
    }
    if (ctx.stateDir) {
      await pollUntil(() => gatewayProcesses().length === 0, 15_000, 'CGI gateway processes to exit').catch((e) => problems.push(e.message));
      for (const f of await fsp.readdir(ctx.stateDir)) {
        if (!/^(asan|ubsan|lsan|tsan)/.test(f)) continue;
        const content = await fsp.readFile(path.join(ctx.stateDir, f), 'utf8').catch(() => '');
        if (content.trim() !== '') problems.push(`sanitizer report ${f}:\n${content}`);
      }
    }
  } finally {
    if (ctx.mock) await ctx.mock.close();
  }
  if (problems.length > 0 || ctx.failed) {
    const log = await fsp.readFile(path.join(ctx.stateDir, 'lighttpd-error.log'), 'utf8').catch(() => '');
    if (problems.length > 0) throw new Error(`CGI instance ${ctx.stateDir} (kept):\n${problems.join('\n')}\n--- lighttpd-error.log ---\n${log.slice(-4000)}`);
    process.stderr.write(`# kept ${ctx.stateDir} for debugging\n`);
    return;
  }
  await fsp.rm(ctx.stateDir, { recursive: true, force: true });
}, { timeout: 60_000 });

function cgiTest(name, fn) {
  return test(name, { timeout: 60_000 }, async (t) => {
    try { return await fn(t); } catch (e) { ctx.failed = true; throw e; }
  });
}

cgiTest('a chat completion through mod_cgi: the virtual key arrives, the upstream gets the provider key, the row is logged', async () => {
  const id = randomUUID();
  const res = await request(ctx.base, {
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${ctx.vk}`, 'x-request-id': id },
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `cgi ${id}` }] },
  });
  assert.equal(res.status, 200, res.text);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.equal(res.headers['alephant-id'], id);
  const j = res.json();
  assert.equal(j.object, 'chat.completion');
  assert.equal(j.choices[0].message.content, MOCK_TEXT);
  assert.deepEqual(j.usage, { ...MOCK_USAGE });

  assert.equal(ctx.mock.requests.length, 1);
  const up = ctx.mock.requests[0];
  assert.equal(up.url, '/v1/chat/completions');
  assert.equal(up.headers.authorization, `Bearer ${SECRET}`);
  assert.ok(!JSON.stringify(up.headers).includes(ctx.vk), 'the virtual key leaked upstream');
  assert.equal(JSON.parse(up.body.toString('utf8')).messages[0].content, `cgi ${id}`);

  const [row] = await waitForLog((r) => r.request_id === id);
  assert.equal(row.status, 200);
  assert.equal(row.virtual_key, 'cgi-app');
  assert.equal(row.path, '/v1/chat/completions');
  assert.equal(row.prompt_tokens, MOCK_USAGE.prompt_tokens);
  assert.equal(row.completion_tokens, MOCK_USAGE.completion_tokens);
  assert.equal(row.error_code ?? null, null);
  // one process per request: it is gone once its row is written
  await pollUntil(() => gatewayProcesses().length === 0, 10_000, 'the CGI process to exit');
});

cgiTest('no Authorization: 401 from the gateway, nothing sent upstream, logged', async () => {
  const id = randomUUID();
  const res = await request(ctx.base, {
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { 'x-request-id': id },
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'no key' }] },
  });
  assert.equal(res.status, 401, res.text);
  assert.equal(typeof res.json().error.message, 'string');
  assert.equal(ctx.mock.requests.length, 0);
  const [row] = await waitForLog((r) => r.request_id === id);
  assert.equal(row.status, 401);
});

cgiTest('mounted below a prefix: /cgi-bin/alephant-gateway/v1/models routes on /v1/models', async () => {
  const id = randomUUID();
  const res = await request(ctx.base, {
    path: '/cgi-bin/alephant-gateway/v1/models?limit=5',
    headers: { authorization: `Bearer ${ctx.vk}`, 'x-request-id': id },
  });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json().data.map((m) => m.id), [...MOCK_MODELS]);
  assert.equal(ctx.mock.requests.length, 1);
  assert.equal(ctx.mock.requests[0].url, '/v1/models?limit=5');
  const [row] = await waitForLog((r) => r.request_id === id);
  assert.equal(row.path, '/v1/models?limit=5');
  // a path that is neither /v1/… nor SCRIPT_NAME + /v1/… is the gateway's 404
  const bad = await request(ctx.base, { path: '/cgi-bin/alephant-gateway/v2/models', headers: { authorization: `Bearer ${ctx.vk}` } });
  assert.equal(bad.status, 404, bad.text);
  assert.equal(bad.json().error.code, 'not_found');
});

const FIRST = 'First chunk;';
const REST = [' then', ' the', ' rest', ' after', ' the', ' gate.'];

cgiTest('a stream is relayed chunk by chunk (stdout flushed per event) and logged with its usage', async () => {
  const gate = createGate();
  ctx.mock.setHandler(async (req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    sseHead(res);
    sseSend(res, chatChunk('chatcmpl-cgi', body.model, { role: 'assistant', content: '' }));
    sseSend(res, chatChunk('chatcmpl-cgi', body.model, { content: FIRST }));
    await gate.promise;
    for (const p of REST) sseSend(res, chatChunk('chatcmpl-cgi', body.model, { content: p }));
    sseSend(res, chatChunk('chatcmpl-cgi', body.model, {}, 'stop'));
    if (body.stream_options?.include_usage === true) sseSend(res, usageChunk('chatcmpl-cgi', body.model, MOCK_STREAM_USAGE));
    sseSend(res, '[DONE]');
    res.end();
  });
  const id = randomUUID();
  const s = streamRequest(ctx.base, {
    headers: { authorization: `Bearer ${ctx.vk}`, 'x-request-id': id },
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `stream ${id}` }] },
  });
  try {
    const { status, headers } = await withTimeout(s.response, 10_000, 'response headers of a stream');
    assert.equal(status, 200);
    assert.match(String(headers['content-type']), /^text\/event-stream/);
    await s.waitForEvent((e) => e.data.includes(FIRST), 10_000,
      'the first chunk while the upstream holds the rest (is stdout flushed per event?)');
  } finally {
    gate.open();
  }
  await withTimeout(s.ended, 15_000, 'end of the stream');
  assert.equal(s.events.at(-1).data, '[DONE]');
  assert.equal(streamText(s.events), FIRST + REST.join(''));
  assert.ok(!eventJsons(s.events).some((j) => j.usage), 'usage chunk the client did not ask for');

  const [row] = await waitForLog((r) => r.request_id === id);
  assert.equal(row.status, 200);
  assert.ok(row.stream === true || row.stream === 1, `stream flag: ${row.stream}`);
  assert.equal(row.prompt_tokens, MOCK_STREAM_USAGE.prompt_tokens);
  assert.equal(row.completion_tokens, MOCK_STREAM_USAGE.completion_tokens);
  assert.ok(String(row.response_body).includes(FIRST));
  await pollUntil(() => gatewayProcesses().length === 0, 10_000, 'the CGI process to exit');
});

cgiTest('a client that goes away mid-stream: the upstream transfer is closed and the row says so', async () => {
  let timer;
  ctx.mock.setHandler((req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    sseHead(res);
    let n = 0;
    timer = setInterval(() => {
      if (res.destroyed || rec.closedByClient) { clearInterval(timer); return; }
      sseSend(res, chatChunk('chatcmpl-forever', body.model, { content: `tick${n++} ` }));
    }, 100);
    rec.closed.then(() => clearInterval(timer));
  });
  try {
    const id = randomUUID();
    const s = streamRequest(ctx.base, {
      headers: { authorization: `Bearer ${ctx.vk}`, 'x-request-id': id },
      body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'forever' }] },
    });
    await s.waitForEvent((e) => e.data.includes('tick0'), 10_000, 'the first content chunk');
    s.destroy();
    const rec = await ctx.mock.waitForRequests(1);
    await pollUntil(() => rec[0].closedByClient, 10_000, 'the gateway to close the upstream connection');
    const rows = await waitForLog((r) => r.request_id === id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].error_code, 'client_disconnected');
    await pollUntil(() => gatewayProcesses().length === 0, 10_000, 'the CGI process to exit');
  } finally {
    clearInterval(timer);
  }
});

cgiTest('the admin program as plain CGI: login, a page, an API call with the CSRF header, logout', async () => {
  await addAdminUser({ ctl }, 'cgi-root', 'cgi-root-password');
  const c = new AdminClient(ctx.base);
  const login = await c.login('cgi-root', 'cgi-root-password');
  assert.equal(login.status, 303, login.text);
  assertSecurityHeaders(login, 'CGI login');
  const keys = await c.get('/admin/keys');
  assert.equal(keys.status, 200);
  assert.match(keys.text, /<td>up<\/td>/);
  const add = await c.api('POST', '/admin/api/provider-keys', { name: 'cgi-admin-key', provider: 'mock' });
  assert.equal(add.status, 201, add.text);
  assert.equal((await c.api('POST', '/admin/api/provider-keys', { name: 'no-csrf', provider: 'mock' }, { csrf: false })).status, 403);
  assert.equal((await c.post('/admin/logout')).status, 303);
  assert.equal((await c.get('/admin/keys')).status, 303);
});
