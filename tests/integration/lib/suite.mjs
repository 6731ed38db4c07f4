// suite.mjs — per-file setup: one mock upstream and one gateway instance, started in before()
// and stopped in after(). A failed test keeps the gateway's state directory for debugging.

import { before, after, beforeEach, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { startGateway } from './gateway.mjs';
import { startMockUpstream } from './mock-upstream.mjs';

export function newSecret(prefix = 'sk-upstream-') {
  return prefix + randomBytes(18).toString('base64url');
}

/**
 * Registers before/after hooks. Returns ctx, filled in before(): { gw, mock, secret }, and
 * ctx.test(name, [options], fn) — node:test's test() that marks the instance failed when fn throws.
 * setup(ctx) runs after both are up (add provider keys, virtual keys).
 */
export function useGateway({ gateway = {}, setup, mocks = 1 } = {}) {
  // mocks > 1: more mock upstreams in ctx.mocks (ctx.mocks[0] is ctx.mock), reset like it.
  const ctx = { gw: null, mock: null, mocks: [], secret: newSecret() };
  before(async () => {
    ctx.mock = await startMockUpstream();
    ctx.mocks = [ctx.mock];
    for (let i = 1; i < mocks; i++) ctx.mocks.push(await startMockUpstream());
    ctx.gw = await startGateway(gateway);
    if (setup) {
      try { await setup(ctx); } catch (e) { ctx.gw.markFailed(); throw e; }
    }
  }, { timeout: 60_000 });
  beforeEach(() => {
    ctx.mock?.resetHandler();
    ctx.mock?.clear();
    for (const m of ctx.mocks.slice(1)) { m.resetHandler(); m.clear(); }
  });
  after(async () => {
    try {
      if (ctx.gw) await ctx.gw.stop();
    } finally {
      if (ctx.mock) await ctx.mock.close();
      for (const m of ctx.mocks.slice(1)) await m.close();
    }
  }, { timeout: 60_000 });
  ctx.test = (name, opts, fn) => {
    if (typeof opts === 'function') { fn = opts; opts = {}; }
    return test(name, { timeout: 60_000, ...opts }, async (t) => {
      try {
        return await fn(t);
      } catch (e) {
        if (!opts.todo) ctx.gw?.markFailed(); // a known-failing (todo) test keeps no state dir
        throw e;
      }
    });
  };
  return ctx;
}
