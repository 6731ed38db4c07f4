// Database faults: the gateway fails closed (503, OpenAI-style) and never crashes when its
// database is locked by another process beyond busy_timeout (5 s) or its disk is full, and
// serves again — with every row written — once the lock is released or space freed. A missing,
// damaged or key-less state directory stops the worker at start with a message naming the cause.
//
// Disk full needs a tiny tmpfs (mount -t tmpfs, as root); where mounting is not permitted that
// test is skipped with the reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID, randomBytes } from 'node:crypto';
import { startGateway, run, GATEWAY_BIN, CTL_BIN } from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock-upstream.mjs';
import { request, assertOpenAIError, withTimeout, pollUntil } from './lib/http.mjs';
import {
  sql, integrityCheck, holdLock, mountTmpfs, umount, fillDisk, workerPids, assertRowsWhole,
} from './lib/faults.mjs';

function chat(gw, key, ids) {
  const id = randomUUID();
  ids?.push(id);
  return request(gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-request-id': id },
    body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: `db fault ${id}` }] }),
    timeoutMs: 60_000,
  }).then((res) => Object.assign(res, { id }));
}

/** An instance with a key under a budget and a key without one, on a mock upstream. */
async function instance(env = {}) {
  const mock = await startMockUpstream();
  let gw;
  try {
    gw = await startGateway({ processes: 1, threads: 4, env });
    await gw.addProviderKey({ name: 'up', baseUrl: mock.baseUrl, secret: 'sk-' + randomBytes(12).toString('hex') });
    const plain = await gw.createVk({ name: 'plain', providerKey: 'up' });
    const budgeted = await gw.createVk({ name: 'budgeted', providerKey: 'up' });
    await gw.ctl(['vk', 'update', 'budgeted', '--budget', '100', '--budget-period', 'monthly']);
    return { mock, gw, plain, budgeted };
  } catch (e) {
    await mock.close();
    throw e;
  }
}

/** Every request in ids has exactly one log row, all rows whole, integrity ok, nothing reserved. */
async function assertRecovered(gw, dbPath, ids) {
  const want = new Set(ids);
  const rows = await gw.waitForLogs((r) => want.has(r.request_id), { count: want.size, timeoutMs: 30_000, limit: 5000 });
  const per = new Map();
  for (const r of rows) per.set(r.request_id, (per.get(r.request_id) ?? 0) + 1);
  for (const id of want) assert.equal(per.get(id), 1, `request ${id} has ${per.get(id) ?? 0} rows`);
  assert.equal(await integrityCheck(dbPath), 'ok');
  await assertRowsWhole(dbPath, assert);
  // every accepted request settled its reservation; refused ones never made one
  await pollUntil(async () => (await sql(dbPath, 'SELECT count(*) FROM budget_reservations;')) === '0', 15_000,
    'budget reservations to be settled');
}

test('database locked by another process beyond busy_timeout → 503, no crash; served again once released', { timeout: 120_000 }, async () => {
  const { mock, gw, plain, budgeted } = await instance();
  const dbPath = path.join(gw.stateDir, 'alephant.db');
  const ids = [];
  let lock;
  try {
    for (const k of [plain, budgeted]) assert.equal((await chat(gw, k, ids)).status, 200);
    const pids = workerPids(gw);
    assert.equal(pids.length, 1);

    // A writer lock (readers still read, as WAL allows): the budget reservation cannot be written.
    lock = await holdLock(dbPath);
    const refused = await withTimeout(chat(gw, budgeted, ids), 30_000, 'an answer while the database is locked');
    assertOpenAIError(refused, 503, { code: 'service_unavailable' });
    // The log writer cannot commit either: from then on every request is refused, not served unrecorded.
    await pollUntil(async () => (await chat(gw, plain, ids)).status === 503, 40_000,
      'requests without a budget to be refused while their rows cannot be written');
    const again = await chat(gw, plain, ids);
    assertOpenAIError(again, 503, { code: 'service_unavailable' });
    await lock.release();
    lock = null;

    await pollUntil(async () => (await chat(gw, budgeted, ids)).status === 200, 30_000, 'service after the lock was released');
    assert.deepEqual(workerPids(gw), pids, 'a worker process died (or was replaced) during the lock');
    await assertRecovered(gw, dbPath, ids);
  } catch (e) {
    gw.markFailed();
    throw e;
  } finally {
    if (lock) await lock.release().catch(() => {});
    await gw.stop();
    await mock.close();
  }
});

test('disk full (a tiny tmpfs) → 503, no crash; served again, every row written, once space is freed', { timeout: 120_000 }, async (t) => {
  const mnt = await fsp.mkdtemp(path.join(os.tmpdir(), 'alephant-full-'));
  const why = await mountTmpfs(mnt, 8 * 1024 * 1024);
  if (why !== null) {
    await fsp.rm(mnt, { recursive: true, force: true });
    t.skip(`disk-full test skipped: cannot mount a tmpfs (${why}); run as root where mount is permitted`);
    return;
  }
  const dbPath = path.join(mnt, 'alephant.db');
  let inst;
  try {
    inst = await instance({ ALEPHANT_PATHS_DATABASE: dbPath });
    const { gw, plain, budgeted } = inst;
    const ids = [];
    for (const k of [plain, budgeted]) assert.equal((await chat(gw, k, ids)).status, 200);
    const pids = workerPids(gw);
    await gw.waitForLogs((r) => ids.includes(r.request_id), { count: 2 });
    // Give the WAL's space back, so that the next write needs new blocks, then fill the disk.
    await sql(dbPath, 'PRAGMA wal_checkpoint(TRUNCATE);', { readonly: false });
    const filler = fillDisk(mnt);

    const refused = await chat(gw, budgeted, ids);
    assertOpenAIError(refused, 503, { code: 'service_unavailable' });
    await pollUntil(async () => (await chat(gw, plain, ids)).status === 503, 30_000,
      'requests without a budget to be refused while the disk is full');
    assert.deepEqual(workerPids(gw), pids, 'a worker process died on the full disk');

    fs.rmSync(filler);
    await pollUntil(async () => (await chat(gw, budgeted, ids)).status === 200, 30_000, 'service once space was freed');
    assert.equal((await chat(gw, plain, ids)).status, 200);
    assert.deepEqual(workerPids(gw), pids);
    await assertRecovered(gw, dbPath, ids);
  } catch (e) {
    inst?.gw.markFailed();
    throw e;
  } finally {
    try {
      if (inst) {
        await inst.gw.stop();
        await inst.mock.close();
      }
    } finally {
      await umount(mnt);
      await fsp.rm(mnt, { recursive: true, force: true });
    }
  }
});

test('a missing, damaged or unreadable database, or no master key: the worker refuses to start and says why', { timeout: 60_000 }, async (t) => {
  const home = await fsp.mkdtemp(path.join(os.tmpdir(), 'alephant-start-'));
  const env = { ...process.env, ALEPHANT_HOME: home };
  delete env.ALEPHANT_CONFIG;
  delete env.GATEWAY_INTERFACE;
  const db = path.join(home, 'alephant.db');
  const key = path.join(home, 'master.key');
  const start = () => run(GATEWAY_BIN, [], { env, timeoutMs: 20_000 });
  const init = async () => {
    await fsp.rm(home, { recursive: true, force: true });
    const r = await run(CTL_BIN, ['init'], { env });
    assert.equal(r.code, 0, r.stderr);
  };
  const refuses = async (what, pattern) => {
    const r = await start();
    assert.equal(r.code, 1, `${what}: exit ${r.code ?? r.signal}; stderr: ${r.stderr}`);
    assert.match(r.stderr, pattern, `${what}: unclear message`);
    assert.ok(!/Segmentation|Aborted|AddressSanitizer/.test(r.stderr), `${what}: crashed: ${r.stderr}`);
  };
  try {
    await t.test('no database', async () => {
      await init();
      await fsp.rm(db);
      await refuses('no database', new RegExp(`database ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist.*alephantctl init`));
    });
    await t.test('a database that is not SQLite', async () => {
      await init();
      await fsp.writeFile(db, randomBytes(8192));
      await refuses('damaged database', /alephant-gateway: .*(not a database|file is not a database)/i);
    });
    await t.test('a directory where the database should be', async () => {
      await init();
      await fsp.rm(db);
      await fsp.mkdir(db, { mode: 0o700 });
      await refuses('directory', /database .* does not exist|cannot open database/);
    });
    await t.test('an unreadable database', async (tt) => {
      if (process.getuid?.() === 0) {
        tt.skip('running as root: file permissions do not stop root from reading');
        return;
      }
      await init();
      await fsp.chmod(db, 0o000);
      await refuses('unreadable database', /cannot open database|unable to open|permission/i);
    });
    await t.test('no master key', async () => {
      await init();
      await fsp.rm(key);
      await refuses('no master key', /master\.key/);
    });
    await t.test('a master key of the wrong size', async () => {
      await init();
      await fsp.writeFile(key, randomBytes(7), { mode: 0o600 });
      await refuses('short master key', /master\.key/);
    });
  } finally {
    await fsp.rm(home, { recursive: true, force: true });
  }
});
