// Killed and stopped workers: the database survives.
// - kill -9 of a worker while streams and buffered answers are in flight and its log writer is
//   committing, 100 times in a row (lighttpd starts a new worker each time): PRAGMA
//   integrity_check is ok, no log row is half-written (each has every column a row gets, its
//   attempts, no dangling reference), and budgets reconcile — no reservation is left once the
//   killed workers' reservations expired, and the spend lies between what the surviving rows cost
//   and what the upstream served.
// - SIGTERM (lighttpd stopping) and a web-server restart (lighttpd's graceful restart, SIGUSR1)
//   with requests in flight: one whole row per request that reached the gateway, every
//   reservation settled at once, integrity ok.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { randomUUID, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway } from './lib/gateway.mjs';
import {
  startMockUpstream, sseHead, sseSend, chatChunk, usageChunk, sendJson, chatCompletion,
  MOCK_USAGE, MOCK_STREAM_USAGE,
} from './lib/mock-upstream.mjs';
import { request, streamRequest, withTimeout, pollUntil } from './lib/http.mjs';
import { sql, integrityCheck, workerPids, assertRowsWhole } from './lib/faults.mjs';

// gpt-4o-mini list prices, nano-dollars per token
const cost = (u) => u.prompt_tokens * 150 + u.completion_tokens * 600;
const ITERATIONS = Number(process.env.FAULTS_KILL_ITERATIONS || 100);

/** Streams 6 chunks stepMs apart with usage; buffered answers after delayMs. */
function handler({ stepMs = 15, delayMs = 5 } = {}) {
  return async (req, res, rec) => {
    const body = JSON.parse(rec.body.toString('utf8'));
    if (body.stream) {
      sseHead(res);
      for (let i = 0; i < 6 && !rec.closedByClient; i++) {
        sseSend(res, chatChunk('chatcmpl-kill', body.model, { content: `piece${i} ` }));
        await sleep(stepMs);
      }
      if (rec.closedByClient) return;
      sseSend(res, chatChunk('chatcmpl-kill', body.model, {}, 'stop'));
      if (body.stream_options?.include_usage) sseSend(res, usageChunk('chatcmpl-kill', body.model, MOCK_STREAM_USAGE));
      sseSend(res, '[DONE]');
      res.end();
      rec.served = cost(MOCK_STREAM_USAGE);
      return;
    }
    await sleep(delayMs);
    sendJson(res, 200, chatCompletion(body.model, { usage: MOCK_USAGE }));
    rec.served = cost(MOCK_USAGE);
  };
}

function post(gw, vk, { stream = false, ids } = {}) {
  const id = randomUUID();
  ids.push(id);
  const headers = { authorization: `Bearer ${vk}`, 'x-request-id': id };
  const body = { model: 'gpt-4o-mini', max_tokens: 100, stream, messages: [{ role: 'user', content: `kill ${id} ${'x'.repeat(2000)}` }] };
  if (stream) return streamRequest(gw.base, { headers, body });
  const p = request(gw.base, { method: 'POST', path: '/v1/chat/completions', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body), timeoutMs: 30_000 });
  p.catch(() => {});
  return { ended: p };
}

async function budgetOf(gw, name) {
  const b = JSON.parse(await gw.ctl(['budget', 'list', '--json'])).find((x) => x.scope === 'virtual_key' && x.name === name);
  assert.ok(b, `no budget for ${name}`);
  return b;
}

async function instance(env = {}) {
  const mock = await startMockUpstream();
  const gw = await startGateway({ processes: 2, threads: 8, env });
  await gw.addProviderKey({ name: 'up', baseUrl: mock.baseUrl, secret: 'sk-' + randomBytes(12).toString('hex') });
  const vk = await gw.createVk({ name: 'killed', providerKey: 'up' });
  await gw.ctl(['vk', 'update', 'killed', '--budget', '1000', '--budget-period', 'monthly']);
  mock.setHandler(handler());
  return { mock, gw, vk, dbPath: path.join(gw.stateDir, 'alephant.db') };
}

test(`kill -9 of a worker mid-stream and mid-write, ${ITERATIONS} times: integrity ok, no half-written row, budgets reconciled`, { timeout: 240_000 }, async () => {
  // Reservations of killed workers expire max_attempts × (timeout + 5 s) + 10 s after they were made.
  const TTL_MS = 1 * (3000 + 5000) + 10_000;
  const { mock, gw, vk, dbPath } = await instance({ ALEPHANT_UPSTREAM_TIMEOUT_MS: '3000', ALEPHANT_UPSTREAM_MAX_ATTEMPTS: '1' });
  const ids = [];
  let kills = 0;
  try {
    // Background load, so that log writers are committing whenever a kill lands.
    let loading = true;
    const load = (async () => {
      while (loading) {
        const batch = Array.from({ length: 4 }, () => post(gw, vk, { ids }));
        const res = await Promise.all(batch.map((b) => b.ended.catch(() => null)));
        if (res.some((r) => r?.status !== 200)) await sleep(20); // no worker right now
      }
    })();
    for (let i = 0; i < ITERATIONS; i++) {
      let pids = [];
      await pollUntil(() => (pids = workerPids(gw)).length > 0, 20_000, 'a worker to kill (lighttpd starts new ones)');
      const streams = [post(gw, vk, { stream: true, ids }), post(gw, vk, { stream: true, ids })];
      // mid-stream: wait (briefly) for a first chunk; a stream on a worker lighttpd has not
      // restarted yet may fail, which is fine
      await Promise.race([
        ...streams.map((s) => s.waitForEvent((e) => e.data.includes('piece'), 5_000).catch(() => {})),
        sleep(5_000),
      ]);
      const victim = pids[Math.floor(Math.random() * pids.length)];
      try { process.kill(victim, 'SIGKILL'); kills++; } catch { /* already gone */ }
      await Promise.all(streams.map((s) => withTimeout(s.ended.catch(() => {}), 30_000, 'a stream of a killed worker to end')));
    }
    loading = false;
    await load;
    const lastKill = Date.now();
    assert.ok(kills >= ITERATIONS * 0.9, `only ${kills} kills landed`);

    // The database is intact and every row whole, right after the last kill.
    assert.equal(await integrityCheck(dbPath), 'ok');
    await assertRowsWhole(dbPath, assert);
    const noAttempts = await sql(dbPath, 'SELECT count(*) FROM request_logs l WHERE l.provider_key_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM request_attempts a WHERE a.log_id = l.id);');
    assert.equal(noAttempts, '0', 'rows written without their attempts');

    // Budgets: once the killed workers' reservations expired, a request on a live worker clears
    // them; afterwards nothing is reserved, and the spend is what was settled.
    await pollUntil(async () => {
      const res = await post(gw, vk, { ids }).ended.catch(() => null);
      return res?.status === 200 && Date.now() > lastKill + TTL_MS;
    }, TTL_MS + 30_000, 'a request after the reservations of killed workers expired');
    await pollUntil(async () => (await sql(dbPath, 'SELECT count(*) FROM budget_reservations;')) === '0', 15_000,
      'every reservation to be settled or expired');
    const b = await budgetOf(gw, 'killed');
    assert.equal(b.reserved_nanos, 0);
    await sleep(1000); // the last rows reach the database
    const logged = Number(await sql(dbPath, "SELECT coalesce(sum(cost_nanos), 0) FROM request_logs l JOIN virtual_keys k ON k.id = l.virtual_key_id WHERE k.name = 'killed';"));
    const served = mock.requests.reduce((s, r) => s + (r.served ?? 0), 0);
    assert.ok(b.spent_nanos >= logged, `spent ${b.spent_nanos} < cost of the logged rows ${logged}`);
    assert.ok(b.spent_nanos <= served, `spent ${b.spent_nanos} > cost of what the upstream served ${served}`);
    const rows = Number(await sql(dbPath, 'SELECT count(*) FROM request_logs;'));
    process.stderr.write(`# ${kills} kills, ${ids.length} requests sent, ${rows} rows, spent ${b.spent_nanos} of ${served} served (${logged} in rows)\n`);
  } catch (e) {
    gw.markFailed();
    throw e;
  } finally {
    await gw.stop();
    await mock.close();
  }
});

/** Starts n buffered requests (slow upstream) and n streams, resolves once all reached the upstream. */
async function inFlight(gw, mock, vk, n, ids) {
  mock.setHandler(handler({ stepMs: 300, delayMs: 1500 }));
  const reqs = [];
  for (let i = 0; i < n; i++) {
    reqs.push(post(gw, vk, { ids }));
    reqs.push(post(gw, vk, { stream: true, ids }));
  }
  await mock.waitForRequests(2 * n, 20_000);
  return reqs;
}

async function assertOneWholeRowEach(gw, dbPath, mock) {
  const reached = mock.requests.map((r) => JSON.parse(r.body.toString('utf8')).messages[0].content.split(' ')[1]);
  const rowCounts = async () => new Map((await sql(dbPath, 'SELECT request_id, count(*) FROM request_logs GROUP BY request_id;'))
    .split('\n').filter(Boolean).map((l) => { const [id, c] = l.split('|'); return [id, Number(c)]; }));
  let counts = await rowCounts();
  // rows are written asynchronously while the instance runs
  for (let i = 0; i < 100 && reached.some((id) => !counts.has(id)); i++) {
    await sleep(200);
    counts = await rowCounts();
  }
  for (const id of reached) assert.equal(counts.get(id), 1, `request ${id} reached the gateway and has ${counts.get(id) ?? 0} rows`);
  assert.equal(await integrityCheck(dbPath), 'ok');
  await assertRowsWhole(dbPath, assert);
  assert.equal(await sql(dbPath, 'SELECT count(*) FROM budget_reservations;'), '0', 'a reservation was left behind by a stopped worker');
}

test('SIGTERM with requests and streams in flight: one whole row each, every reservation settled', { timeout: 90_000 }, async () => {
  const { mock, gw, vk, dbPath } = await instance();
  const ids = [];
  let stopped = false;
  try {
    const reqs = await inFlight(gw, mock, vk, 8, ids);
    stopped = true;
    await gw.stop({ keep: true });
    await Promise.all(reqs.map((r) => withTimeout(r.ended.catch(() => {}), 30_000, 'a request in flight to end')));
    await assertOneWholeRowEach(gw, dbPath, mock);
  } catch (e) {
    gw.markFailed();
    throw e;
  } finally {
    if (!stopped) await gw.stop();
    else await gw.removeStateDir();
    await mock.close();
  }
});

test('web-server restart (lighttpd SIGUSR1, graceful) with requests in flight: answered, one whole row each, then served again', { timeout: 90_000 }, async () => {
  const { mock, gw, vk, dbPath } = await instance();
  const ids = [];
  try {
    const reqs = await inFlight(gw, mock, vk, 8, ids);
    gw.lighttpd.kill('SIGUSR1');
    const results = await Promise.all(reqs.map((r) => withTimeout(r.ended.then(() => r, () => r), 40_000, 'a request in flight to end')));
    // a graceful restart lets the requests in flight finish
    for (const r of results) {
      if (r.events) {
        assert.equal(r.status, 200);
        assert.equal(r.events.at(-1)?.data, '[DONE]', `a stream was cut by the restart: ${r.text.slice(-200)}`);
      } else {
        const res = await r.ended;
        assert.equal(res.status, 200, res.text);
      }
    }
    mock.setHandler(handler());
    await pollUntil(async () => (await post(gw, vk, { ids }).ended.catch(() => null))?.status === 200, 30_000,
      'a request served after the restart');
    await assertOneWholeRowEach(gw, dbPath, mock);
  } catch (e) {
    gw.markFailed();
    throw e;
  } finally {
    await gw.stop();
    await mock.close();
  }
});
