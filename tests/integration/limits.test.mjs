// Budgets and rate limits, enforced across all worker processes: a hard budget under a burst of
// concurrent requests is never overspent (the maximum cost is reserved before forwarding and
// settled to the actual cost after); a reservation of a killed worker stays live until it
// expires (max_attempts × (timeout + 5 s) + 10 s) and is then released; an agent budget shared by
// its keys; unpriced models under a hard budget; GCRA request limits shared by the worker
// processes (exactly N of a burst pass, with x-ratelimit-* headers); token limits charged with the
// actual tokens; per-IP buckets (x-forwarded-for only from a trusted proxy), per-session and
// per-property buckets.

import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { randomUUID, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { useGateway } from './lib/suite.mjs';
import { startGateway, run, GATEWAY_BIN } from './lib/gateway.mjs';
import { startMockUpstream, chatCompletion, sendJson } from './lib/mock-upstream.mjs';
import { request, assertOpenAIError, withTimeout, pollUntil } from './lib/http.mjs';

// gpt-4o-mini list prices in nano-dollars per token
const IN_NANOS = 150;
const OUT_NANOS = 600;
// what the mock answers: 100 × 150 + 200 × 600
const USAGE = Object.freeze({ prompt_tokens: 100, completion_tokens: 200, total_tokens: 300 });
const USAGE_COST = 100 * IN_NANOS + 200 * OUT_NANOS;

const ctx = useGateway({
  gateway: { processes: 2, threads: 8 },
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'up', baseUrl: mock.baseUrl, secret });
  },
});

/** OpenAI-style answers with USAGE after delayMs; the provider's own x-ratelimit-* headers too. */
function usageHandler({ delayMs = 0, usage = USAGE } = {}) {
  return async (req, res, rec) => {
    if (delayMs > 0) await sleep(delayMs);
    const body = JSON.parse(rec.body.toString('utf8'));
    sendJson(res, 200, chatCompletion(body.model, { usage }), {
      'x-ratelimit-limit-requests': '9999',
      'x-ratelimit-remaining-requests': '9998',
      'x-ratelimit-reset-requests': '1ms',
      'x-ratelimit-limit-tokens': '7777777',
      'x-ratelimit-remaining-tokens': '7777776',
    });
  };
}

/** POST /v1/chat/completions; resolves the response with its request id and exact payload. */
function chat(vk, { body = {}, headers = {}, gw = ctx.gw } = {}) {
  const id = randomUUID();
  const payload = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `limits ${id}` }], ...body });
  return request(gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${vk}`, 'content-type': 'application/json', 'x-request-id': id, ...headers },
    body: payload,
  }).then((res) => Object.assign(res, { id, payload }));
}

/** The reservation the gateway makes for a gpt-4o-mini request: body bytes × input + max × output. */
function estimate(payload, maxTokens) {
  return Buffer.byteLength(payload) * IN_NANOS + maxTokens * OUT_NANOS;
}

/** "0.000135000" for 135000 nano-dollars. */
function usd(nanos) {
  const s = String(nanos).padStart(10, '0');
  return `${s.slice(0, -9)}.${s.slice(-9)}`;
}

function nanosOf(usdText) {
  const m = /^(\d+)\.(\d{1,9})$/.exec(usdText);
  assert.ok(m, `not a USD amount: ${usdText}`);
  return Number(m[1]) * 1e9 + Number(m[2].padEnd(9, '0'));
}

/** ISO time without milliseconds, as the budget message prints it. */
function isoSeconds(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function sql(gw, query) {
  const r = await run('sqlite3', ['-readonly', path.join(gw.stateDir, 'alephant.db'), query]);
  assert.equal(r.code, 0, `sqlite3 failed: ${r.stderr}`);
  return r.stdout.trim();
}

async function budgets(gw = ctx.gw) {
  return JSON.parse(await gw.ctl(['budget', 'list', '--json']));
}

async function budgetOf(scope, name, gw = ctx.gw) {
  const b = (await budgets(gw)).find((x) => x.scope === scope && x.name === name);
  assert.ok(b, `no ${scope} budget '${name}' in budget list`);
  return b;
}

/** Asserts a budget_exceeded refusal naming the budget; returns the "spent or reserved" nanos. */
function assertBudgetRefusal(res, { period, what, name, hardNanos, resetIso }) {
  const e = assertOpenAIError(res, 429, { code: 'budget_exceeded', type: 'insufficient_quota' });
  const re = /^Budget exceeded: the (\w+) budget of (.+) '(.+)' is \$([0-9.]+) \(\$([0-9.]+) spent or reserved\); it resets at (\S+)$/;
  const m = re.exec(e.message);
  assert.ok(m, `budget message: ${e.message}`);
  assert.equal(m[1], period, e.message);
  assert.equal(m[2], what, e.message);
  assert.equal(m[3], name, e.message);
  assert.equal(nanosOf(m[4]), hardNanos, e.message);
  if (resetIso !== undefined) assert.equal(m[6], resetIso, e.message);
  return nanosOf(m[5]);
}

function assertRateRefusal(res) {
  const e = assertOpenAIError(res, 429, { code: 'rate_limit_exceeded', type: 'rate_limit_error' });
  const ra = res.headers['retry-after'];
  assert.match(String(ra), /^\d+$/, `Retry-After: ${ra}`);
  assert.ok(Number(ra) >= 1, `Retry-After ${ra} < 1`);
  return e;
}

let seq = 0;
/** A new virtual key on provider key 'up' with the given `vk update` options. */
async function keyWith(prefix, updateArgs = [], { agent, department, gw = ctx.gw, providerKey = 'up' } = {}) {
  const name = `${prefix}-${++seq}-${randomBytes(3).toString('hex')}`;
  const token = await gw.createVk({ name, providerKey, agent, department });
  if (updateArgs.length > 0) await gw.ctl(['vk', 'update', name, ...updateArgs]);
  return { name, token };
}

// ---- budgets ----

ctx.test('a burst of 60 concurrent requests never spends past a hard budget', async () => {
  const HARD = 1_000_000; // $0.001: about five reservations of ~$0.0002, six or seven answers of $0.000135
  const k = await keyWith('burst', ['--budget', usd(HARD), '--budget-period', 'daily']);
  ctx.mock.setHandler(usageHandler({ delayMs: 200 }));
  const b0 = await budgetOf('virtual_key', k.name);
  assert.equal(b0.hard_limit_nanos, HARD);
  assert.equal(b0.period, 'daily');

  const results = await withTimeout(Promise.all(Array.from({ length: 60 }, () => chat(k.token, { body: { max_tokens: 300 } }))),
    45_000, '60 concurrent requests');
  const ok = results.filter((r) => r.status === 200);
  const refused = results.filter((r) => r.status !== 200);
  assert.ok(ok.length >= 1, `no request succeeded: ${results[0].text}`);
  assert.ok(refused.length >= 1, 'every request succeeded: the budget was not enforced');
  for (const r of refused) {
    const spentOrReserved = assertBudgetRefusal(r, {
      period: 'daily', what: 'virtual key', name: k.name, hardNanos: HARD, resetIso: isoSeconds(b0.period_end),
    });
    assert.ok(spentOrReserved + estimate(r.payload, 300) > HARD,
      `refused although ${spentOrReserved} + ${estimate(r.payload, 300)} fits in ${HARD}: ${r.text}`);
    assert.ok(spentOrReserved <= HARD, `spent or reserved ${spentOrReserved} is past the hard limit ${HARD}`);
  }
  for (const r of ok) assert.deepEqual(r.json().usage, USAGE);
  assert.equal(ctx.mock.requests.length, ok.length, 'a refused request reached the upstream');

  const rows = await ctx.gw.waitForLogs((r) => r.virtual_key === k.name, { count: 60, timeoutMs: 20_000 });
  assert.equal(rows.length, 60);
  const okRows = rows.filter((r) => r.status === 200);
  assert.equal(okRows.length, ok.length);
  for (const r of okRows) assert.equal(r.cost_nanos, USAGE_COST, JSON.stringify(r));
  for (const r of rows.filter((x) => x.status !== 200)) {
    assert.equal(r.status, 429);
    assert.equal(r.error_code, 'budget_exceeded');
  }
  const spent = okRows.reduce((s, r) => s + r.cost_nanos, 0);
  assert.ok(spent <= HARD, `${ok.length} answers cost ${spent} nanos, past the hard limit of ${HARD}`);

  // settled: no reservation left, spend = the logged cost (budget list and the raw table)
  await pollUntil(async () => (await sql(ctx.gw, 'select count(*) from budget_reservations')) === '0', 10_000,
    'reservations left after every answer');
  const b = await budgetOf('virtual_key', k.name);
  assert.equal(b.spent_nanos, spent);
  assert.equal(b.reserved_nanos, 0);
  assert.ok(b.spent_nanos <= b.hard_limit_nanos);
  assert.equal(Number(await sql(ctx.gw, `select sum(spent_nanos) from budget_spend where budget_id = ${b.id}`)), spent);
  assert.ok(Number(await sql(ctx.gw, 'select sum(spent_nanos) from budget_spend')) <= HARD);
});

ctx.test('an agent budget is shared by the agent\'s keys (weekly, from Monday)', async () => {
  const agent = `agent-${randomBytes(3).toString('hex')}`;
  const a = await keyWith('ag-a', [], { agent });
  const b = await keyWith('ag-b', [], { agent });
  const HARD = 500_000;
  await ctx.gw.ctl(['agent', 'update', agent, '--budget', usd(HARD), '--budget-period', 'weekly', '--reset-day', '1']);
  ctx.mock.setHandler(usageHandler());
  const ab = await budgetOf('agent', agent);
  assert.equal(ab.period, 'weekly');
  assert.equal(new Date(ab.period_end).getUTCDay(), 1, `weekly period does not end on a Monday: ${isoSeconds(ab.period_end)}`);
  assert.equal(ab.period_end - ab.period_start, 7 * 86_400_000);

  // reservation ≈ 200 000 each: 0 → 135k → 270k → 405k; the 4th (405k + ~200k) does not fit
  const answers = [];
  for (const key of [a, b, a]) {
    const res = await chat(key.token, { body: { max_tokens: 300 } });
    assert.equal(res.status, 200, res.text);
    answers.push(res);
  }
  const refused = await chat(b.token, { body: { max_tokens: 300 } });
  const spentOrReserved = assertBudgetRefusal(refused, {
    period: 'weekly', what: 'agent', name: agent, hardNanos: HARD, resetIso: isoSeconds(ab.period_end),
  });
  assert.equal(spentOrReserved, 3 * USAGE_COST);
  assert.equal(ctx.mock.requests.length, 3);
  // a key of another agent is not limited by it
  const other = await keyWith('ag-other', [], { agent: `${agent}-x` });
  assert.equal((await chat(other.token, { body: { max_tokens: 300 } })).status, 200);

  await ctx.gw.settledLogs((r) => r.request_id === refused.id);
  const after = await budgetOf('agent', agent);
  assert.equal(after.spent_nanos, 3 * USAGE_COST);
  assert.equal(after.reserved_nanos, 0);
  // the keys themselves have no budget
  const names = (await budgets()).map((x) => x.name);
  assert.ok(!names.includes(a.name) && !names.includes(b.name), JSON.stringify(names));
});

ctx.test('key, agent and department budgets are charged together; the tightest refuses, nothing is left reserved', async () => {
  const dept = `dept-${randomBytes(3).toString('hex')}`;
  const agent = `agent-${randomBytes(3).toString('hex')}`;
  const k = await keyWith('kad', ['--budget', '1', '--budget-period', 'monthly'], { agent, department: dept });
  await ctx.gw.ctl(['agent', 'update', agent, '--budget', '1', '--budget-period', 'lifetime']);
  const HARD = 300_000;
  await ctx.gw.ctl(['department', 'update', dept, '--budget', usd(HARD), '--budget-period', 'daily']);
  ctx.mock.setHandler(usageHandler());

  const ok = await chat(k.token, { body: { max_tokens: 300 } });
  assert.equal(ok.status, 200, ok.text);
  const refused = await chat(k.token, { body: { max_tokens: 300 } });
  const db = await budgetOf('department', dept);
  assert.equal(assertBudgetRefusal(refused, {
    period: 'daily', what: 'department', name: dept, hardNanos: HARD, resetIso: isoSeconds(db.period_end),
  }), USAGE_COST);
  assert.equal(ctx.mock.requests.length, 1);
  await ctx.gw.settledLogs((r) => r.request_id === refused.id);
  for (const [scope, name] of [['virtual_key', k.name], ['agent', agent], ['department', dept]]) {
    const b = await budgetOf(scope, name);
    assert.equal(b.spent_nanos, USAGE_COST, `${scope} ${name}: ${JSON.stringify(b)}`);
    assert.equal(b.reserved_nanos, 0, `${scope} ${name} keeps a reservation of the refused request`);
  }
  assert.equal((await budgetOf('agent', agent)).period, 'lifetime');
});

ctx.test('a model without a price under a hard budget is refused: 403 budget_unpriced_model', async () => {
  const k = await keyWith('unpriced', ['--budget', '1', '--budget-period', 'lifetime']);
  const res = await chat(k.token, { body: { model: 'acme-unpriced-model-7', max_tokens: 10 } });
  assertOpenAIError(res, 403, { code: 'budget_unpriced_model' });
  assert.equal(ctx.mock.requests.length, 0);
  // a priced model is fine
  const ok = await chat(k.token, { body: { max_tokens: 10 } });
  assert.equal(ok.status, 200, ok.text);
  const row = (await ctx.gw.settledLogs((r) => r.request_id === res.id))[0];
  assert.equal(row.status, 403);
  assert.equal(row.error_code, 'budget_unpriced_model');
});

/** alephant-gateway pids whose parent is lighttpd pid. */
async function workerPids(gw) {
  const r = await run('ps', ['-o', 'pid=', '--ppid', String(gw.lighttpd.pid)]);
  const exe = fs.realpathSync(GATEWAY_BIN);
  return r.stdout.split(/\s+/).filter(Boolean).map(Number).filter((pid) => {
    try { return fs.readlinkSync(`/proc/${pid}/exe`) === exe; } catch { return false; }
  });
}

ctx.test('the reservation of a killed worker counts until it expires, then is released', { timeout: 80_000 }, async () => {
  const mock = await startMockUpstream();
  const gw = await startGateway({
    processes: 1, threads: 4,
    env: { ALEPHANT_UPSTREAM_TIMEOUT_MS: '2000', ALEPHANT_UPSTREAM_MAX_ATTEMPTS: '1' },
  });
  const TTL = 1 * (2000 + 5000) + 10_000;
  try {
    await gw.addProviderKey({ name: 'up', baseUrl: mock.baseUrl, secret: 'sk-' + randomBytes(12).toString('hex') });
    // max_tokens 1000: a reservation of ~$0.00062; a $0.001 budget holds one
    const HARD = 1_000_000;
    const k = await keyWith('killed', ['--budget', usd(HARD), '--budget-period', 'daily'], { gw });
    mock.setHandler(() => new Promise(() => {})); // never answers

    const before = Date.now();
    const first = chat(k.token, { gw, body: { max_tokens: 1000 } });
    first.catch(() => {});
    await mock.waitForRequests(1, 10_000);
    const [count, amount, expiresAt] = (await sql(gw, 'select count(*), sum(amount_nanos), max(expires_at) from budget_reservations')).split('|').map(Number);
    const seen = Date.now();
    assert.equal(count, 1, 'no reservation while the request is in flight');
    assert.ok(amount > HARD / 2 && amount <= HARD, `reservation ${amount}`);
    // expires max_attempts × (timeout + 5 s) + 10 s after it was made
    assert.ok(expiresAt >= before + TTL && expiresAt <= seen + TTL,
      `expires_at ${expiresAt} not within [${before + TTL}, ${seen + TTL}]`);

    const pids = await workerPids(gw);
    assert.equal(pids.length, 1, `worker pids: ${pids}`);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    const firstRes = await withTimeout(first, 20_000, 'the request of the killed worker').catch((e) => ({ status: `error ${e.message}` }));
    assert.notEqual(firstRes.status, 200);
    assert.equal(await sql(gw, 'select count(*) from budget_reservations'), '1', 'the reservation vanished with the worker');

    // lighttpd starts a new worker; the live reservation still counts
    mock.setHandler(usageHandler());
    await pollUntil(async () => (await workerPids(gw)).some((p) => !pids.includes(p)), 20_000, 'lighttpd to start a new worker');
    let second;
    await pollUntil(async () => {
      second = await chat(k.token, { gw, body: { max_tokens: 1000 } });
      if (second.status === 502 || second.status === 503) { await sleep(200); return false; }
      return true;
    }, 20_000, 'an answer from the new worker');
    const sor = assertBudgetRefusal(second, { period: 'daily', what: 'virtual key', name: k.name, hardNanos: HARD });
    assert.equal(sor, amount, 'the refusal does not count the killed worker\'s reservation');
    assert.equal(mock.requests.length, 1);

    // after the expiry the budget is free again
    let accepted;
    await pollUntil(async () => {
      const res = await chat(k.token, { gw, body: { max_tokens: 1000 } });
      if (res.status === 200) { accepted = res; return true; }
      assertBudgetRefusal(res, { period: 'daily', what: 'virtual key', name: k.name, hardNanos: HARD });
      await sleep(500);
      return false;
    }, 40_000, 'a request accepted after the reservation expired');
    assert.ok(Date.now() >= expiresAt, `accepted before the reservation expired (${expiresAt - Date.now()} ms early)`);
    await gw.settledLogs((r) => r.request_id === accepted.id);
    const b = await budgetOf('virtual_key', k.name, gw);
    assert.equal(b.spent_nanos, USAGE_COST, 'the expired reservation was charged');
    assert.equal(b.reserved_nanos, 0);
  } catch (e) {
    gw.markFailed();
    throw e;
  } finally {
    await gw.stop();
    await mock.close();
  }
});

// ---- rate limits ----

ctx.test('--rpm 10: a burst of 20 across two worker processes → exactly 10 pass', async () => {
  const k = await keyWith('rpm', ['--rpm', '10']);
  const rules = JSON.parse(await ctx.gw.ctl(['ratelimit', 'list', '--json'])).filter((r) => r.name === k.name);
  assert.equal(rules.length, 1);
  assert.equal(rules[0].max_requests, 10);
  assert.equal(rules[0].max_tokens, null);
  assert.equal(rules[0].window_ms, 60_000);
  assert.equal(rules[0].per, 'key');
  ctx.mock.setHandler(usageHandler({ delayMs: 300 }));

  const results = await withTimeout(Promise.all(Array.from({ length: 20 }, () => chat(k.token))), 30_000, '20 requests');
  const ok = results.filter((r) => r.status === 200);
  const refused = results.filter((r) => r.status !== 200);
  assert.equal(ok.length, 10, `statuses ${results.map((r) => r.status)}`);
  assert.equal(refused.length, 10);
  for (const r of refused) {
    const e = assertRateRefusal(r);
    assert.match(e.message, /10 requests per 60 s/);
  }
  assert.equal(ctx.mock.requests.length, 10);
  const remaining = ok.map((r) => {
    assert.equal(r.headers['x-ratelimit-limit-requests'], '10', 'limit header (the provider\'s must be replaced)');
    assert.match(String(r.headers['x-ratelimit-remaining-requests']), /^\d+$/);
    assert.ok(r.headers['x-ratelimit-reset-requests'], 'no x-ratelimit-reset-requests');
    assert.notEqual(r.headers['x-ratelimit-reset-requests'], '1ms', 'the provider\'s reset header was kept');
    assert.equal(r.headers['x-ratelimit-limit-tokens'], undefined, 'the provider\'s token headers kept without a token limit');
    return Number(r.headers['x-ratelimit-remaining-requests']);
  }).sort((x, y) => x - y);
  // The k-th take (in lock order, the clock read under the lock) leaves 10 − k: the burst takes
  // milliseconds, far less than the 6 s one unit needs to refill, so the counts are exact.
  assert.deepEqual(remaining, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], `remaining ${remaining}`);

  const rows = await ctx.gw.waitForLogs((r) => r.virtual_key === k.name, { count: 20 });
  assert.equal(rows.filter((r) => r.status === 429 && r.error_code === 'rate_limit_exceeded').length, 10);
});

ctx.test('--tpm 250: charged with the actual 300 tokens, the next request is refused', async () => {
  const k = await keyWith('tpm', ['--tpm', '250']);
  ctx.mock.setHandler(usageHandler());
  const first = await chat(k.token);
  assert.equal(first.status, 200, first.text);
  assert.equal(first.headers['x-ratelimit-limit-tokens'], '250');
  assert.match(String(first.headers['x-ratelimit-remaining-tokens']), /^\d+$/);
  assert.ok(Number(first.headers['x-ratelimit-remaining-tokens']) <= 250);
  assert.ok(first.headers['x-ratelimit-reset-tokens'], 'no x-ratelimit-reset-tokens');
  assert.equal(first.headers['x-ratelimit-limit-requests'], undefined, 'the provider\'s request headers kept without a request limit');

  const second = await chat(k.token);
  const e = assertRateRefusal(second);
  assert.match(e.message, /250 tokens per 60 s/);
  assert.equal(ctx.mock.requests.length, 1);
  const row = (await ctx.gw.settledLogs((r) => r.request_id === second.id))[0];
  assert.equal(row.status, 429);
  assert.equal(row.error_code, 'rate_limit_exceeded');
  const firstRow = (await ctx.gw.settledLogs((r) => r.request_id === first.id))[0];
  assert.equal(firstRow.total_tokens, 300);
});

ctx.test('--per ip without trusted proxies: x-forwarded-for does not split the bucket', async () => {
  const k = await keyWith('perip', ['--rpm', '2', '--per', 'ip']);
  const statuses = [];
  const ids = [];
  for (const xff of ['203.0.113.1', '203.0.113.2', '198.51.100.9']) {
    const res = await chat(k.token, { headers: { 'x-forwarded-for': xff } });
    statuses.push(res.status);
    ids.push(res.id);
    if (res.status !== 200) assertRateRefusal(res);
  }
  assert.deepEqual(statuses, [200, 200, 429]);
  const rows = await ctx.gw.waitForLogs((r) => ids.includes(r.request_id), { count: 3 });
  for (const r of rows) assert.equal(r.ratelimit_ip, '127.0.0.1', JSON.stringify(r));
});

ctx.test('--per ip behind a trusted proxy: one bucket per x-forwarded-for client (IPv4 and IPv6)', async () => {
  const gw = await startGateway({ processes: 2, threads: 4, env: { ALEPHANT_TRUSTED_PROXIES: '127.0.0.1/32' } });
  try {
    await gw.addProviderKey({ name: 'up', baseUrl: ctx.mock.baseUrl, secret: 'sk-' + randomBytes(12).toString('hex') });
    const k = await keyWith('trusted', ['--rpm', '2', '--per', 'ip'], { gw });
    const send = async (xff) => {
      const res = await chat(k.token, { gw, headers: { 'x-forwarded-for': xff } });
      return Object.assign(res, { xff });
    };
    const results = [];
    for (const xff of ['203.0.113.1', '203.0.113.1', '203.0.113.2', '203.0.113.2']) results.push(await send(xff));
    assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200], results.map((r) => r.text).join('\n'));
    const third = await send('203.0.113.1');
    assertRateRefusal(third);
    const v6 = await send('2001:db8::7');
    assert.equal(v6.status, 200, v6.text);
    const ids = [...results, third, v6].map((r) => r.id);
    const rows = await gw.waitForLogs((r) => ids.includes(r.request_id), { count: ids.length });
    for (const r of [...results, third, v6]) {
      const row = rows.find((x) => x.request_id === r.id);
      assert.equal(row.ratelimit_ip, r.xff, JSON.stringify(row));
    }
  } catch (e) {
    gw.markFailed();
    throw e;
  } finally {
    await gw.stop();
  }
});

ctx.test('--per session and --per property:customer count each value separately', async () => {
  const s = await keyWith('persession', ['--rpm', '1', '--per', 'session']);
  const sess = (id) => chat(s.token, { headers: { 'alephant-session-id': id } });
  const s1 = `s-${randomUUID()}`;
  const s2 = `s-${randomUUID()}`;
  assert.equal((await sess(s1)).status, 200);
  assertRateRefusal(await sess(s1));
  assert.equal((await sess(s2)).status, 200);
  assertRateRefusal(await sess(s2));

  const p = await keyWith('perprop', ['--rpm', '1', '--per', 'property:customer']);
  const rules = JSON.parse(await ctx.gw.ctl(['ratelimit', 'list', '--json'])).filter((r) => r.name === p.name);
  assert.equal(rules.length, 1);
  assert.equal(rules[0].per, 'property');
  assert.equal(rules[0].property, 'customer');
  const cust = (v, extra = {}) => chat(p.token, { headers: { 'alephant-property-customer': v, ...extra } });
  assert.equal((await cust('acme')).status, 200);
  assertRateRefusal(await cust('acme'));
  // another property does not make it a new bucket, another value does
  assertRateRefusal(await cust('acme', { 'alephant-property-environment': 'staging' }));
  assert.equal((await cust('globex')).status, 200);
  assertRateRefusal(await cust('globex'));
  assert.equal(ctx.mock.requests.length, 4);
});
