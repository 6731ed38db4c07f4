// Stopping: rows of answered requests are not lost when lighttpd stops the workers right after
// (the log writer flushes on SIGTERM), and a stream in flight at that moment does not keep a
// worker alive. Each test starts and stops its own instance; stop() also fails on sanitizer
// reports and on processes left behind.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID, randomBytes } from 'node:crypto';
import { startGateway } from './lib/gateway.mjs';
import { startMockUpstream, createGate, sseHead, sseSend, chatChunk } from './lib/mock-upstream.mjs';
import { request, streamRequest, withTimeout } from './lib/http.mjs';

const mocks = [];
after(async () => { for (const m of mocks) await m.close(); });

async function instance() {
  const mock = await startMockUpstream();
  mocks.push(mock);
  const gw = await startGateway({ processes: 2, threads: 4 });
  await gw.addProviderKey({ name: 'up', baseUrl: mock.baseUrl, secret: 'sk-' + randomBytes(12).toString('hex') });
  const vk = await gw.createVk({ name: 'app', providerKey: 'up' });
  return { mock, gw, vk };
}

test('rows of answered requests survive an immediate stop', { timeout: 60_000 }, async () => {
  const { gw, vk } = await instance();
  let stopped = false;
  try {
    const ids = Array.from({ length: 20 }, () => randomUUID());
    const results = await Promise.all(ids.map((id) => request(gw.base, {
      method: 'POST', path: '/v1/chat/completions',
      headers: { authorization: `Bearer ${vk}`, 'content-type': 'application/json', 'x-request-id': id },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
    })));
    assert.deepEqual(results.map((r) => r.status), ids.map(() => 200));
    stopped = true;
    await gw.stop({ keep: true });
    // alephantctl reads the database without the server running
    const rows = (await gw.logs(1000)).filter((r) => ids.includes(r.request_id));
    assert.equal(rows.length, 20, `only ${rows.length} of 20 rows were written before the workers exited`);
  } catch (e) {
    gw.markFailed();
    throw e;
  } finally {
    if (!stopped) await gw.stop();
    else await gw.removeStateDir();
  }
});

test('a stream in flight does not keep the workers from stopping', { timeout: 60_000 }, async () => {
  const { mock, gw, vk } = await instance();
  const gate = createGate();
  mock.setHandler(async (req, res) => {
    sseHead(res);
    sseSend(res, chatChunk('c', 'gpt-4o-mini', { content: 'in flight' }));
    await gate.promise;
    res.end();
  });
  let stopped = false;
  try {
    const id = randomUUID();
    const s = streamRequest(gw.base, {
      headers: { authorization: `Bearer ${vk}`, 'x-request-id': id },
      body: { model: 'gpt-4o-mini', stream: true, messages: [] },
    });
    await s.waitForEvent((e) => e.data.includes('in flight'), 10_000, 'the first chunk');
    stopped = true;
    await gw.stop({ keep: true }); // fails if a worker is still alive 15 s later
    await withTimeout(s.ended.catch(() => {}), 10_000, 'the client stream to end once the server is gone');
    const rows = (await gw.logs(100)).filter((r) => r.request_id === id);
    assert.ok(rows.length <= 1, `${rows.length} rows for one request`);
  } catch (e) {
    gw.markFailed();
    throw e;
  } finally {
    gate.open();
    if (!stopped) await gw.stop();
    else await gw.removeStateDir();
  }
});
