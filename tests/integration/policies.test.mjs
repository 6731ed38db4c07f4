// Request policies: every kind with a passing and a blocking request (and flag for model_deny and
// content_regex); a block answers 403 policy_violation naming the policy, with a reason that
// never echoes the matched text, and never reaches the upstream; every decision is on the log row
// (policy_result, policy_decisions). The policy client IP is the leftmost valid x-forwarded-for
// (IPv4 and IPv6 CIDRs), the country comes from cf-ipcountry / x-alephant-country-code. Scopes
// (key, agent, department, global) and the evaluation order.

import assert from 'node:assert/strict';
import { randomUUID, randomBytes } from 'node:crypto';
import { useGateway } from './lib/suite.mjs';
import { request, assertOpenAIError } from './lib/http.mjs';

const ctx = useGateway({
  async setup({ gw, mock, secret }) {
    await gw.addProviderKey({ name: 'up', baseUrl: mock.baseUrl, secret });
  },
});

let seq = 0;
function uniq(prefix) {
  return `${prefix}-${++seq}-${randomBytes(3).toString('hex')}`;
}

/** A new virtual key on 'up'; resolves { name, token }. */
async function newKey(prefix, { agent, department } = {}) {
  const name = uniq(prefix);
  const token = await ctx.gw.createVk({ name, providerKey: 'up', agent, department });
  return { name, token };
}

/** `policy add`; resolves the policy's name (made unique) and id from `policy list --json`. */
async function addPolicy({ name = 'pol', kind, config, action, scope, position }) {
  const unique = uniq(name);
  const args = ['policy', 'add', '--name', unique, '--kind', kind, '--config', JSON.stringify(config)];
  if (action !== undefined) args.push('--action', action);
  if (scope !== undefined) args.push('--scope', scope);
  if (position !== undefined) args.push('--position', String(position));
  await ctx.gw.ctl(args);
  const listed = JSON.parse(await ctx.gw.ctl(['policy', 'list', '--json'])).find((p) => p.name === unique);
  assert.ok(listed, `policy ${unique} not listed`);
  assert.equal(listed.kind, kind);
  assert.deepEqual(listed.config, config);
  assert.equal(listed.action, action ?? 'block');
  return { name: unique, id: listed.id };
}

/** A key with one policy of its own (scope vk:NAME). */
async function keyWithPolicy(kind, config, { action, prefix = kind.replace(/_/g, '-') } = {}) {
  const key = await newKey(prefix);
  const policy = await addPolicy({ name: prefix, kind, config, action, scope: `vk:${key.name}` });
  return { key, policy };
}

/** POST /v1/chat/completions. body members replace the defaults (model, one user message). */
function chat(key, { body = {}, headers = {}, raw } = {}) {
  const id = randomUUID();
  const payload = raw ?? JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `policy ${id}` }], ...body });
  return request(ctx.gw.base, {
    method: 'POST', path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${key.token}`, 'content-type': 'application/json', 'x-request-id': id, ...headers },
    body: payload,
  }).then((res) => Object.assign(res, { id, payload }));
}

async function rowOf(id) {
  const rows = await ctx.gw.settledLogs((r) => r.request_id === id, { settleMs: 300 });
  assert.equal(rows.length, 1, `log rows of ${id}: ${JSON.stringify(rows)}`);
  return rows[0];
}

/**
 * Asserts the log row's decisions: expected is [{ policy, decision, reason? }] in order
 * (policy: { name, id }; reason: a string, a RegExp, or null).
 */
function assertDecisions(row, result, expected) {
  const where = JSON.stringify({ policy_result: row.policy_result, policy_decisions: row.policy_decisions });
  assert.equal(row.policy_result, result, `policy_result ${where}`);
  assert.ok(Array.isArray(row.policy_decisions), `policy_decisions ${where}`);
  assert.equal(row.policy_decisions.length, expected.length, `number of decisions ${where}`);
  expected.forEach((e, i) => {
    const d = row.policy_decisions[i];
    assert.equal(d.policy_name, e.policy.name, `decision ${i} policy_name ${where}`);
    assert.equal(d.policy_id, e.policy.id, `decision ${i} policy_id ${where}`);
    assert.equal(d.decision, e.decision, `decision ${i} ${where}`);
    if (e.rule !== undefined) assert.equal(d.rule, e.rule, `decision ${i} rule ${where}`);
    if (e.decision === 'allow') assert.equal(d.reason, null, `decision ${i} reason ${where}`);
    else assert.equal(typeof d.reason, 'string', `decision ${i} reason ${where}`);
    if (e.reason instanceof RegExp) assert.match(d.reason, e.reason, `decision ${i} reason ${where}`);
    else if (e.reason !== undefined) assert.equal(d.reason, e.reason, `decision ${i} reason ${where}`);
  });
}

/** A request that passed: 200, reached the upstream, its row says allow (or flag). */
async function assertPassed(res, policy, { result = 'allow', decision = result, reason } = {}) {
  assert.equal(res.status, 200, `expected the request to pass policy ${policy.name}: ${res.text.slice(0, 300)}`);
  const up = ctx.mock.requests.find((r) => r.body.toString('utf8') === res.payload);
  assert.ok(up, 'the request did not reach the upstream (or was changed on the way)');
  const row = await rowOf(res.id);
  assert.equal(row.status, 200);
  assertDecisions(row, result, [{ policy, decision, reason }]);
  return row;
}

/**
 * A blocked request: 403 permission_error / policy_violation, "Request blocked by policy 'NAME':
 * REASON", nothing sent upstream, the row says block. secrets: text that must not be echoed.
 */
async function assertBlocked(res, policy, { reason, secrets = [], decisions } = {}) {
  const e = assertOpenAIError(res, 403, { code: 'policy_violation', type: 'permission_error', forbidden: secrets });
  assert.ok(e.message.startsWith(`Request blocked by policy '${policy.name}': `), e.message);
  const said = e.message.slice(`Request blocked by policy '${policy.name}': `.length);
  if (reason instanceof RegExp) assert.match(said, reason);
  else if (reason !== undefined) assert.equal(said, reason);
  assert.ok(!ctx.mock.requests.some((r) => r.body.toString('utf8') === res.payload), 'a blocked request reached the upstream');
  const row = await rowOf(res.id);
  assert.equal(row.status, 403);
  assert.equal(row.error_code, 'policy_violation');
  assert.equal(row.attempt_count, 0);
  assertDecisions(row, 'block', decisions ?? [{ policy, decision: 'block', reason: said }]);
  for (const s of secrets) {
    assert.ok(!String(row.error_message).includes(s), `error_message echoes ${s}`);
    assert.ok(!JSON.stringify(row.policy_decisions).includes(s), `a decision echoes ${s}`);
  }
  return row;
}

// ---- models ----

ctx.test('model_allow: globs, case-insensitive; other models blocked', async () => {
  const { key, policy } = await keyWithPolicy('model_allow', { models: ['gpt-4o*', 'claude-3-5-?aiku'] });
  await assertPassed(await chat(key), policy);
  await assertPassed(await chat(key, { body: { model: 'GPT-4o-2024-08-06' } }), policy);
  await assertPassed(await chat(key, { body: { model: 'claude-3-5-haiku' } }), policy);
  await assertBlocked(await chat(key, { body: { model: 'o1-preview' } }), policy, { reason: 'the requested model is not allowed' });
  await assertBlocked(await chat(key, { body: { model: 'claude-3-5-sonnet' } }), policy, { reason: 'the requested model is not allowed' });
  assert.equal(ctx.mock.requests.length, 3);
});

ctx.test('model_deny: block and flag', async () => {
  const { key, policy } = await keyWithPolicy('model_deny', { models: ['o1*'] });
  await assertBlocked(await chat(key, { body: { model: 'o1-mini' } }), policy, { reason: 'the requested model is not allowed' });
  await assertPassed(await chat(key), policy);

  const f = await keyWithPolicy('model_deny', { models: ['gpt-4o-mini'] }, { action: 'flag', prefix: 'deny-flag' });
  const res = await chat(f.key);
  await assertPassed(res, f.policy, { result: 'flag', reason: 'the requested model is not allowed' });
  await assertPassed(await chat(f.key, { body: { model: 'gpt-4o' } }), f.policy);
});

// ---- client IP ----

ctx.test('ip_allow: the leftmost valid x-forwarded-for address, else the peer', async () => {
  const { key, policy } = await keyWithPolicy('ip_allow', { cidrs: ['10.0.0.0/8', '2001:db8:aa::/48'] });
  const ok = await chat(key, { headers: { 'x-forwarded-for': '10.1.2.3' } });
  const row = await assertPassed(ok, policy);
  assert.equal(row.forwarded_ip, '10.1.2.3');
  await assertPassed(await chat(key, { headers: { 'x-forwarded-for': '2001:db8:aa::5, 192.0.2.1' } }), policy);
  await assertPassed(await chat(key, { headers: { 'x-forwarded-for': 'not-an-ip, 10.9.9.9' } }), policy);
  const reason = 'the client IP address is not allowed';
  await assertBlocked(await chat(key, { headers: { 'x-forwarded-for': '192.0.2.5, 10.0.0.1' } }), policy, { reason });
  await assertBlocked(await chat(key, { headers: { 'x-forwarded-for': '2001:db8:ab::1' } }), policy, { reason });
  // no x-forwarded-for: the peer, 127.0.0.1
  await assertBlocked(await chat(key), policy, { reason });
});

ctx.test('ip_deny with an IPv6 CIDR: 2001:db8::1 blocked, 2001:db9::1 allowed', async () => {
  const { key, policy } = await keyWithPolicy('ip_deny', { cidrs: ['2001:db8::/32', '192.0.2.0/24'] });
  const reason = 'the client IP address is not allowed';
  const blocked = await assertBlocked(await chat(key, { headers: { 'x-forwarded-for': '2001:db8::1' } }), policy, { reason });
  assert.equal(blocked.forwarded_ip, '2001:db8::1');
  await assertBlocked(await chat(key, { headers: { 'x-forwarded-for': '2001:DB8:0:0:0:0:0:ff' } }), policy, { reason });
  await assertBlocked(await chat(key, { headers: { 'x-forwarded-for': '192.0.2.200' } }), policy, { reason });
  await assertPassed(await chat(key, { headers: { 'x-forwarded-for': '2001:db9::1' } }), policy);
  await assertPassed(await chat(key, { headers: { 'x-forwarded-for': '198.51.100.1' } }), policy);
  await assertPassed(await chat(key), policy); // the peer 127.0.0.1 is not listed
});

// ---- country ----

ctx.test('country_allow with cf-ipcountry (unknown blocks); country_deny', async () => {
  const { key, policy } = await keyWithPolicy('country_allow', { countries: ['US', 'DE'] });
  const row = await assertPassed(await chat(key, { headers: { 'cf-ipcountry': 'DE' } }), policy);
  assert.equal(row.country, 'DE');
  await assertPassed(await chat(key, { headers: { 'x-alephant-country-code': 'us' } }), policy);
  await assertBlocked(await chat(key, { headers: { 'cf-ipcountry': 'FR' } }), policy,
    { reason: 'requests from the client country are not allowed' });
  await assertBlocked(await chat(key), policy, { reason: 'the client country is unknown' });

  const d = await keyWithPolicy('country_deny', { countries: ['KP'] });
  await assertBlocked(await chat(d.key, { headers: { 'cf-ipcountry': 'KP' } }), d.policy,
    { reason: 'requests from the client country are not allowed' });
  await assertPassed(await chat(d.key, { headers: { 'cf-ipcountry': 'US' } }), d.policy);
  await assertPassed(await chat(d.key), d.policy); // unknown passes
});

// ---- request shape ----

ctx.test('max_tokens: the max passes, one more is blocked (max_tokens and max_completion_tokens)', async () => {
  const { key, policy } = await keyWithPolicy('max_tokens', { max: 100 });
  const reason = 'max_tokens exceeds the limit of 100';
  await assertPassed(await chat(key, { body: { max_tokens: 100 } }), policy);
  await assertPassed(await chat(key), policy); // absent passes
  await assertBlocked(await chat(key, { body: { max_tokens: 101 } }), policy, { reason });
  await assertBlocked(await chat(key, { body: { max_completion_tokens: 101 } }), policy, { reason });
  await assertPassed(await chat(key, { body: { max_completion_tokens: 100 } }), policy);
});

ctx.test('max_messages: the max passes, one more is blocked', async () => {
  const { key, policy } = await keyWithPolicy('max_messages', { max: 2 });
  const msg = (n) => Array.from({ length: n }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `m${i} ${randomUUID()}` }));
  await assertPassed(await chat(key, { body: { messages: msg(2) } }), policy);
  await assertBlocked(await chat(key, { body: { messages: msg(3) } }), policy, { reason: 'the request has more than 2 messages' });
});

ctx.test('max_request_bytes: a body of exactly the max passes, one byte more is blocked', async () => {
  const MAX = 400;
  const { key, policy } = await keyWithPolicy('max_request_bytes', { max: MAX });
  const bodyOf = (bytes) => {
    const head = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"${randomUUID()} `;
    const tail = '"}]}';
    const s = head + 'x'.repeat(bytes - head.length - tail.length) + tail;
    assert.equal(Buffer.byteLength(s), bytes);
    JSON.parse(s);
    return s;
  };
  await assertPassed(await chat(key, { raw: bodyOf(MAX) }), policy);
  await assertBlocked(await chat(key, { raw: bodyOf(MAX + 1) }), policy, { reason: `the request body exceeds the limit of ${MAX} bytes` });
});

ctx.test('forbidden_params: logit_bias blocked, other parameters pass', async () => {
  const { key, policy } = await keyWithPolicy('forbidden_params', { params: ['logit_bias', 'tools'] });
  await assertBlocked(await chat(key, { body: { logit_bias: { 50256: -100 } } }), policy,
    { reason: 'the parameter "logit_bias" is not allowed' });
  await assertPassed(await chat(key, { body: { temperature: 0.2, max_tokens: 5 } }), policy);
});

ctx.test('required_properties: alephant-property-environment required', async () => {
  const { key, policy } = await keyWithPolicy('required_properties', { properties: ['environment'] });
  const row = await assertPassed(await chat(key, { headers: { 'alephant-property-environment': 'production' } }), policy);
  assert.equal(row.properties.environment, 'production');
  await assertPassed(await chat(key, { headers: { 'Alephant-Property-Environment': 'staging' } }), policy);
  const reason = 'the property alephant-property-environment is required';
  await assertBlocked(await chat(key), policy, { reason });
  await assertBlocked(await chat(key, { headers: { 'alephant-property-customer': 'acme' } }), policy, { reason });
});

// ---- content ----

const CARD = '4111 1111 1111 1111';

ctx.test('content_regex: a card number is blocked without being echoed; text parts scanned', async () => {
  const { key, policy } = await keyWithPolicy('content_regex', { pattern: '\\b(?:\\d[ -]*?){13,16}\\b', case_insensitive: false },
    { prefix: 'cards' });
  const reason = 'message text matches a blocked pattern';
  await assertBlocked(await chat(key, { body: { messages: [{ role: 'user', content: `my card is ${CARD}, thanks` }] } }),
    policy, { reason, secrets: [CARD, '4111'] });
  await assertBlocked(await chat(key, {
    body: { messages: [{ role: 'system', content: 'be nice' }, { role: 'user', content: [{ type: 'text', text: 'pay with 5500-0000-0000-0004' }] }] },
  }), policy, { reason, secrets: ['5500-0000-0000-0004', '5500'] });
  await assertPassed(await chat(key, { body: { messages: [{ role: 'user', content: 'order 12345 please' }] } }), policy);
});

ctx.test('content_regex: case_insensitive, and flag records without blocking', async () => {
  const ci = await keyWithPolicy('content_regex', { pattern: 'project\\s+falcon', case_insensitive: true }, { prefix: 'falcon' });
  await assertBlocked(await chat(ci.key, { body: { messages: [{ role: 'user', content: 'tell me about PROJECT  Falcon' }] } }),
    ci.policy, { reason: 'message text matches a blocked pattern', secrets: ['Falcon', 'PROJECT'] });
  await assertPassed(await chat(ci.key, { body: { messages: [{ role: 'user', content: 'tell me about project eagle' }] } }), ci.policy);

  const cs = await keyWithPolicy('content_regex', { pattern: 'project\\s+falcon', case_insensitive: false }, { prefix: 'falcon-cs' });
  await assertPassed(await chat(cs.key, { body: { messages: [{ role: 'user', content: 'tell me about PROJECT Falcon' }] } }), cs.policy);

  const fl = await keyWithPolicy('content_regex', { pattern: 'confidential' }, { action: 'flag', prefix: 'conf-flag' });
  const res = await chat(fl.key, { body: { messages: [{ role: 'user', content: 'this is confidential' }] } });
  await assertPassed(res, fl.policy, { result: 'flag', reason: 'message text matches a flagged pattern' });
  assert.ok(!res.text.includes('policy'), 'a flagged request is answered as usual');
  await assertPassed(await chat(fl.key, { body: { messages: [{ role: 'user', content: 'this is public' }] } }), fl.policy);
});

// ---- time ----

ctx.test('hours: a window without the current UTC hour blocks, one with it passes', async () => {
  // Both windows cover the current hour and the next one the same way, so a request made just
  // after the hour changes is judged the same.
  const h = new Date().getUTCHours();
  const excluding = `${(h + 2) % 24}-${h}`; // 22 hours, not h nor h + 1 (wraps midnight unless h ≥ 22)
  const including = `${h}-${(h + 2) % 24}`; // h and h + 1
  const ex = await keyWithPolicy('hours', { utc_hours: excluding }, { prefix: 'hours-ex' });
  await assertBlocked(await chat(ex.key), ex.policy, { reason: 'requests are not allowed at this hour (UTC)' });
  const inc = await keyWithPolicy('hours', { utc_hours: including }, { prefix: 'hours-in' });
  await assertPassed(await chat(inc.key), inc.policy);
  const arr = await keyWithPolicy('hours', { utc_hours: [[(h + 2) % 24, (h + 2) % 24 + 1]] }, { prefix: 'hours-arr' });
  await assertBlocked(await chat(arr.key), arr.policy, { reason: 'requests are not allowed at this hour (UTC)' });
});

// ---- scopes and order ----

ctx.test('scopes: another key\'s policy does not apply; agent, department and global ones do', async () => {
  const dept = uniq('dept');
  const agent = uniq('agent');
  const a1 = await newKey('ag1', { agent, department: dept });
  const a2 = await newKey('ag2', { agent });
  const d1 = await newKey('dp1', { department: dept });
  const plain = await newKey('plain');

  const own = await addPolicy({ name: 'own', kind: 'forbidden_params', config: { params: ['temperature'] }, scope: `vk:${a2.name}` });
  await assertBlocked(await chat(a2, { body: { temperature: 1 } }), own, { reason: 'the parameter "temperature" is not allowed' });
  const otherRes = await chat(plain, { body: { temperature: 1 } });
  assert.equal(otherRes.status, 200, otherRes.text);
  const otherRow = await rowOf(otherRes.id);
  assert.ok(!(otherRow.policy_decisions ?? []).some((d) => d.policy_name === own.name), JSON.stringify(otherRow.policy_decisions));

  const ag = await addPolicy({ name: 'agentpol', kind: 'model_deny', config: { models: ['gpt-4o'] }, scope: `agent:${agent}` });
  await assertBlocked(await chat(a1, { body: { model: 'gpt-4o' } }), ag);
  await assertBlocked(await chat(a2, { body: { model: 'gpt-4o' } }), ag, {
    decisions: [{ policy: ag, decision: 'block', reason: 'the requested model is not allowed' }],
  });
  assert.equal((await chat(d1, { body: { model: 'gpt-4o' } })).status, 200, 'an agent policy applied to a key of another agent');
  assert.equal((await chat(plain, { body: { model: 'gpt-4o' } })).status, 200);

  const dp = await addPolicy({ name: 'deptpol', kind: 'max_messages', config: { max: 1 }, scope: `department:${dept}` });
  const two = { messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] };
  await assertBlocked(await chat(d1, { body: two }), dp);
  // department before agent: a1 has both; the department's block stops evaluation
  await assertBlocked(await chat(a1, { body: { ...two, model: 'gpt-4o' } }), dp, {
    decisions: [{ policy: dp, decision: 'block' }],
  });
  assert.equal((await chat(a2, { body: two })).status, 200, 'a department policy applied to a key outside it');

  const gl = await addPolicy({ name: 'global', kind: 'forbidden_params', config: { params: ['x_global_probe'] } });
  try {
    const listed = JSON.parse(await ctx.gw.ctl(['policy', 'list', '--json'])).find((p) => p.name === gl.name);
    assert.equal(listed.scope, 'global');
    for (const k of [plain, a1, d1]) {
      await assertBlocked(await chat(k, { body: { x_global_probe: true } }), gl, {
        reason: 'the parameter "x_global_probe" is not allowed',
        decisions: [{ policy: gl, decision: 'block' }],
      });
    }
    const allowed = await chat(plain);
    assert.equal(allowed.status, 200);
    assertDecisions(await rowOf(allowed.id), 'allow', [{ policy: gl, decision: 'allow', rule: 'forbidden_params' }]);
  } finally {
    await ctx.gw.ctl(['policy', 'remove', gl.name]);
  }
  assert.ok(!JSON.parse(await ctx.gw.ctl(['policy', 'list', '--json'])).some((p) => p.name === gl.name));
  assert.equal((await chat(plain, { body: { x_global_probe: true } })).status, 200, 'a removed policy still applies');
});

ctx.test('order: a flag before a block are both recorded; a block stops evaluation', async () => {
  const key = await newKey('order');
  const blocker = await addPolicy({ name: 'late-block', kind: 'model_deny', config: { models: ['gpt-4o-mini'] }, scope: `vk:${key.name}`, position: 5 });
  const flagger = await addPolicy({ name: 'early-flag', kind: 'content_regex', config: { pattern: 'hello' }, action: 'flag', scope: `vk:${key.name}`, position: 1 });
  const never = await addPolicy({ name: 'after-block', kind: 'max_tokens', config: { max: 1 }, action: 'flag', scope: `vk:${key.name}`, position: 9 });
  const listed = JSON.parse(await ctx.gw.ctl(['policy', 'list', '--json'])).filter((p) => p.scope_name === key.name).map((p) => p.name);
  assert.deepEqual(listed, [flagger.name, blocker.name, never.name]);

  const res = await chat(key, { body: { messages: [{ role: 'user', content: 'hello there' }], max_tokens: 50 } });
  await assertBlocked(res, blocker, {
    reason: 'the requested model is not allowed',
    decisions: [
      { policy: flagger, decision: 'flag', rule: 'content_regex', reason: 'message text matches a flagged pattern' },
      { policy: blocker, decision: 'block', rule: 'model_deny', reason: 'the requested model is not allowed' },
    ],
  });

  // not blocked: all three judged, in order; the flags make the result flag
  const ok = await chat(key, { body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hello again' }], max_tokens: 50 } });
  assert.equal(ok.status, 200, ok.text);
  assertDecisions(await rowOf(ok.id), 'flag', [
    { policy: flagger, decision: 'flag' },
    { policy: blocker, decision: 'allow' },
    { policy: never, decision: 'flag', reason: 'max_tokens exceeds the limit of 1' },
  ]);

  // global policies run before the key's, whatever their position
  const gl = await addPolicy({ name: 'global-flag', kind: 'max_messages', config: { max: 0 }, action: 'flag', position: 100 });
  try {
    const r = await chat(key, { body: { messages: [{ role: 'user', content: 'bye' }] } });
    await assertBlocked(r, blocker, {
      decisions: [
        { policy: gl, decision: 'flag', reason: 'the request has more than 0 messages' },
        { policy: flagger, decision: 'allow' },
        { policy: blocker, decision: 'block' },
      ],
    });
  } finally {
    await ctx.gw.ctl(['policy', 'remove', gl.name]);
  }
});
