// Agents and departments managed on their own in the admin program and alephantctl (create with
// budgets and rate limits, list with keys and spend, delete refused while used, ids never reused),
// editing an existing virtual key (models, expiry, agent, department) on the page and through the
// API, CSRF on the new forms, the viewer refused, the favicon, and the admin's systemd unit.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync, readFileSync } from 'node:fs';
import { useGateway } from './lib/suite.mjs';
import { run } from './lib/gateway.mjs';
import { postJson, chatBody } from './lib/http.mjs';
import { AdminClient, addAdminUser, createAdminToken, apiWithToken } from './lib/admin-client.mjs';

const ROOT_PW = 'root-password-2';
const VIEWER_PW = 'viewer-password-2';

const ctx = useGateway({
  gateway: { processes: 1, threads: 4 },
  setup: async ({ gw }) => {
    await addAdminUser(gw, 'root', ROOT_PW, 'admin');
    await addAdminUser(gw, 'watcher', VIEWER_PW, 'viewer');
    await gw.addProviderKey({ name: 'mockpk', provider: 'mock' });
  },
});

async function login(user, pw) {
  const c = new AdminClient(ctx.gw.base);
  const res = await c.login(user, pw);
  assert.equal(res.status, 303, res.text);
  return c;
}

const sql = async (q) => {
  const r = await run('sqlite3', [`${ctx.gw.stateDir}/alephant.db`, q]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
};

test('the page creates a department and an agent with budgets and limits, a key for the agent, shows spend, refuses and then performs deletes', async () => {
  const c = await login('root', ROOT_PW);
  const dept = await c.post('/admin/departments', { department_name: 'growth', budget_usd: '100', budget_period: 'monthly', rpm: '' , tpm: '' });
  assert.equal(dept.status, 303, dept.text);
  assert.equal(dept.headers.location, '/admin/vks?done=department');
  const agent = await c.post('/admin/agents', { agent_name: 'growth-bot', department: 'growth', budget_usd: '20', budget_period: 'weekly', rpm: '50', tpm: '' });
  assert.equal(agent.status, 303, agent.text);
  // a typo in the limits creates nothing
  const bad = await c.post('/admin/agents', { agent_name: 'typo-bot', department: '', budget_usd: 'lots', budget_period: 'monthly' });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /budget_usd must be a USD amount/);
  const unknownDept = await c.post('/admin/agents', { agent_name: 'lost-bot', department: 'nowhere', budget_usd: '', budget_period: 'monthly' });
  assert.equal(unknownDept.status, 404);
  assert.match(unknownDept.text, /department &#39;nowhere&#39; not found: create it first|department 'nowhere' not found: create it first/);

  const made = await c.post('/admin/vks', { name: 'growth-key', provider_key: 'mockpk', agent: 'growth-bot', department: 'growth', budget_period: 'monthly' });
  assert.equal(made.status, 201, made.text);
  const token = /<output id="new-token">(vk-[A-Za-z0-9_-]{43})<\/output>/.exec(made.text)[1];
  const chat = await postJson(ctx.gw.base, '/v1/chat/completions', chatBody(), { key: token });
  assert.equal(chat.status, 200, chat.text);
  await ctx.gw.waitForLog((r) => r.request_id === chat.headers['alephant-id']);

  const page = await c.get('/admin/vks');
  const agentRow = page.text.split('\n').find((l) => l.startsWith('<tr><td>growth-bot</td>'));
  assert.ok(agentRow, page.text);
  assert.match(agentRow, /<td>growth<\/td><td>growth-key<\/td>/);
  assert.match(agentRow, /\$0\.00 of \$20\.00 \(weekly\)/);
  assert.match(agentRow, /50 req \/ 60 s per key/);
  const deptRow = page.text.split('\n').find((l) => l.startsWith('<tr><td>growth</td>'));
  assert.match(deptRow, /<td>growth-bot<\/td><td>growth-key<\/td>/);
  assert.match(deptRow, /of \$100\.00 \(monthly\)/);
  assert.match(page.text, /<link rel="icon" href="data:,">/);

  // the API shows the same, with spend
  // the API shows the same (the mock provider's answers cost nothing: spend stays 0)
  const a = (await c.api('GET', '/admin/api/agents')).json().data.find((r) => r.name === 'growth-bot');
  assert.deepEqual(a.virtual_keys, ['growth-key']);
  assert.equal(a.budget.hard_limit_nanos, 20e9);
  assert.equal(a.budget.spent_nanos, 0);
  assert.equal(a.budget.period, 'weekly');
  assert.equal(a.rate_limits[0].max_requests, 50);

  // deletes are refused while used, with a clear message
  const refused = await c.post('/admin/agents/growth-bot/delete');
  assert.equal(refused.status, 409);
  assert.match(refused.text, /agent &#39;growth-bot&#39; is used by 1 active virtual key \(growth-key\)|agent 'growth-bot' is used by 1 active virtual key \(growth-key\)/);
  const refusedDept = await c.api('DELETE', '/admin/api/departments/growth');
  assert.equal(refusedDept.status, 409);
  assert.equal(refusedDept.json().error.code, 'in_use');

  // move the key elsewhere (edit), then the agent goes with its budget and limits
  assert.equal((await c.post('/admin/vks/growth-key/edit', { models: '', expires: '', agent: '', department: '' })).status, 303);
  const gone = await c.post('/admin/agents/growth-bot/delete');
  assert.equal(gone.status, 200, gone.text);
  assert.match(gone.text, /Agent growth-bot deleted, with its budget and 1 rate limit\./);
  const budgets = (await c.api('GET', '/admin/api/budgets')).json().data;
  assert.ok(!budgets.some((b) => b.scope === 'agent' && b.name === 'growth-bot'));
  const del = await c.api('DELETE', '/admin/api/departments/growth');
  assert.equal(del.status, 200, del.text);
  assert.equal(del.json().budgets, 1);
  assert.equal((await c.api('DELETE', '/admin/api/departments/growth')).status, 404);

  // the log row keeps the deleted agent's id, which no new agent gets
  const oldId = await sql("SELECT id FROM retired_groups WHERE kind = 'agent' AND name = 'growth-bot'");
  assert.match(oldId, /^\d+$/);
  await ctx.gw.ctl(['agent', 'create', 'after-delete']);
  const newId = await sql("SELECT id FROM agents WHERE name = 'after-delete'");
  assert.ok(Number(newId) > Number(oldId), `${newId} > ${oldId}`);
  assert.equal(await sql(`SELECT count(*) FROM request_logs WHERE agent_id = ${Number(newId)}`), '0');
});

test('the API creates and deletes agents and departments; alephantctl sees the same', async () => {
  const tok = await createAdminToken(ctx.gw, 'agents-api');
  const call = (m, p, b) => apiWithToken(ctx.gw.base, tok, m, p, b);
  const d = await call('POST', '/admin/api/departments', { name: 'ops', budget_usd: 50, budget_period: 'daily' });
  assert.equal(d.status, 201, d.text);
  assert.equal(d.json().budget.period, 'daily');
  assert.equal((await call('POST', '/admin/api/departments', { name: 'ops' })).status, 409);
  const a = await call('POST', '/admin/api/agents', { name: 'ops-bot', department: 'ops', rpm: 10, window_s: 30 });
  assert.equal(a.status, 201, a.text);
  assert.equal(a.json().department, 'ops');
  assert.equal(a.json().rate_limits[0].window_ms, 30000);
  assert.equal((await call('POST', '/admin/api/agents', { name: '<b>bad</b>' })).status, 400);
  assert.equal((await call('POST', '/admin/api/agents', { name: 'x', department: 'missing' })).status, 404);
  const listed = JSON.parse(await ctx.gw.ctl(['agent', 'list', '--json']));
  assert.equal(listed.find((x) => x.name === 'ops-bot').department, 'ops');
  const depts = JSON.parse(await ctx.gw.ctl(['department', 'list', '--json']));
  assert.deepEqual(depts.find((x) => x.name === 'ops').agents, ['ops-bot']);
  const pol = await call('POST', '/admin/api/policies', { name: 'ops-no-o1', kind: 'model_deny', config: { models: ['o1*'] }, scope: 'agent:ops-bot' });
  assert.equal(pol.status, 201, pol.text);
  const refused = await ctx.gw.ctlResult(['department', 'delete', 'ops']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /department 'ops' is used by 1 agent \(ops-bot\)/);
  const del = await call('DELETE', '/admin/api/agents/ops-bot');
  assert.equal(del.status, 200, del.text);
  assert.equal(del.json().policies, 1);
  assert.ok(!JSON.parse(await ctx.gw.ctl(['policy', 'list', '--json'])).some((p) => p.name === 'ops-no-o1'));
  const ctlDel = await ctx.gw.ctlResult(['department', 'delete', 'ops']);
  assert.equal(ctlDel.code, 0, ctlDel.stderr);
  assert.match(ctlDel.stderr, /Department ops deleted, with its budget\./);
});

test('editing a virtual key: models, expiry, agent and department change at the gateway too', async () => {
  const tok = await createAdminToken(ctx.gw, 'edit-api');
  const call = (m, p, b) => apiWithToken(ctx.gw.base, tok, m, p, b);
  await call('POST', '/admin/api/agents', { name: 'editor' });
  await call('POST', '/admin/api/departments', { name: 'edit-dept' });
  const made = await call('POST', '/admin/api/virtual-keys', { name: 'edit-me', provider_key: 'mockpk', models: ['gpt-4o'] });
  const token = made.json().token;
  const denied = await postJson(ctx.gw.base, '/v1/chat/completions', chatBody(), { key: token });
  assert.equal(denied.status, 403, denied.text);

  const e = await call('PATCH', '/admin/api/virtual-keys/edit-me', { models: ['gpt-4o', 'gpt-4o-mini'], agent: 'editor', department: 'edit-dept', expires: '2099-06-01' });
  assert.equal(e.status, 200, e.text);
  assert.deepEqual(e.json().models, ['gpt-4o', 'gpt-4o-mini']);
  assert.equal(e.json().agent, 'editor');
  assert.equal(e.json().department, 'edit-dept');
  assert.equal(e.json().expires_at, Date.UTC(2099, 5, 1));
  const ok = await postJson(ctx.gw.base, '/v1/chat/completions', chatBody(), { key: token });
  assert.equal(ok.status, 200, ok.text);
  const row = await ctx.gw.waitForLog((r) => r.request_id === ok.headers['alephant-id']);
  assert.equal(row.agent, 'editor');
  assert.equal(row.department, 'edit-dept');

  // only what is given changes; null clears
  const partial = await call('PATCH', '/admin/api/virtual-keys/edit-me', { models: null });
  assert.equal(partial.json().models, null);
  assert.equal(partial.json().agent, 'editor');
  assert.equal((await call('PATCH', '/admin/api/virtual-keys/edit-me', { agent: 'nobody' })).status, 404);
  assert.equal((await call('PATCH', '/admin/api/virtual-keys/edit-me', { expires: '2001-01-01' })).status, 400);
  assert.equal((await call('PATCH', '/admin/api/virtual-keys/edit-me', { models: [] })).status, 400);
  assert.equal((await call('PATCH', '/admin/api/virtual-keys/edit-me', {})).status, 400);
  assert.equal((await call('PATCH', '/admin/api/virtual-keys/no-such-key', { models: 'a' })).status, 404);

  // the edit page shows the stored values and saves them
  const c = await login('root', ROOT_PW);
  const page = await c.get('/admin/vks/edit-me/edit');
  assert.equal(page.status, 200);
  assert.match(page.text, /<option selected>editor<\/option>/);
  assert.match(page.text, /name="expires" type="date" value="2099-06-01"/);
  const saved = await c.post('/admin/vks/edit-me/edit', { models: 'gpt-4o-mini', expires: '', agent: 'editor', department: '' });
  assert.equal(saved.status, 303, saved.text);
  const v = (await call('GET', '/admin/api/virtual-keys')).json().data.find((k) => k.name === 'edit-me');
  assert.deepEqual(v.models, ['gpt-4o-mini']);
  assert.equal(v.department, null);
  assert.equal(v.expires_at, null);
  const refused = await c.post('/admin/vks/edit-me/edit', { models: 'a', expires: 'soon', agent: '', department: '' });
  assert.equal(refused.status, 400);
  assert.match(refused.text, /expiry is not an ISO 8601 date/);
  assert.equal((await c.get('/admin/vks/no-such-key/edit')).status, 404);
  // alephantctl vk edit is the same operation
  const ctlEdit = await ctx.gw.ctlResult(['vk', 'edit', 'edit-me', '--models', 'any', '--agent', '']);
  assert.equal(ctlEdit.code, 0, ctlEdit.stderr);
  const after = JSON.parse(await ctx.gw.ctl(['vk', 'list', '--json'])).find((k) => k.name === 'edit-me');
  assert.equal(after.models, null);
  assert.equal(after.agent, null);
});

test('CSRF on the new forms and API routes; the viewer is refused', async () => {
  const c = await login('root', ROOT_PW);
  for (const [path, fields] of [
    ['/admin/agents', { agent_name: 'csrf-agent' }],
    ['/admin/departments', { department_name: 'csrf-dept' }],
    ['/admin/vks/x/edit', { models: 'a' }],
    ['/admin/agents/x/delete', {}],
    ['/admin/departments/x/delete', {}],
  ]) {
    const res = await c.post(path, fields, { csrf: null });
    assert.equal(res.status, 403, `${path}: ${res.status}`);
  }
  const api = await c.api('POST', '/admin/api/agents', { name: 'csrf-api-agent' }, { csrf: false });
  assert.equal(api.status, 403);
  assert.equal(api.json().error.code, 'csrf_failed');
  const names = (await c.api('GET', '/admin/api/agents')).json().data.map((a) => a.name);
  assert.ok(!names.includes('csrf-agent') && !names.includes('csrf-api-agent'), JSON.stringify(names));
  assert.ok(!(await c.api('GET', '/admin/api/departments')).json().data.some((d) => d.name === 'csrf-dept'));

  const v = await login('watcher', VIEWER_PW);
  assert.equal((await v.get('/admin/vks/x/edit')).status, 403);
  assert.equal((await v.post('/admin/agents', { agent_name: 'viewer-agent' })).status, 403);
  assert.equal((await v.api('POST', '/admin/api/departments', { name: 'viewer-dept' })).status, 403);
  assert.equal((await v.api('GET', '/admin/api/agents')).status, 403);
  const viewerTok = await createAdminToken(ctx.gw, 'agents-viewer', 'viewer');
  assert.equal((await apiWithToken(ctx.gw.base, viewerTok, 'PATCH', '/admin/api/virtual-keys/x', { models: 'a' })).status, 403);
});

test('alephant-admin.service is built with the installed paths and passes systemd-analyze', async (t) => {
  const unit = `${process.env.top_builddir || '.'}/contrib/alephant-admin.service`;
  if (!existsSync(unit)) return t.skip('contrib/alephant-admin.service not built');
  const text = readFileSync(unit, 'utf8');
  assert.doesNotMatch(text, /@[a-z]+@/, 'placeholders left');
  assert.match(text, /^ExecStart=\/usr\/bin\/spawn-fcgi -n -s \/run\/alephant-admin\/admin\.sock .* -- \/.*\/alephant-admin$/m);
  assert.match(text, /^RuntimeDirectory=alephant-admin$/m);
  assert.match(text, /^User=alephant$/m);
  const sa = await run('systemd-analyze', ['verify', unit]).catch(() => null);
  if (sa === null || sa.code === 127) return t.skip('no systemd-analyze');
  // A missing spawn-fcgi binary is the machine's business, not the unit's.
  const problems = (sa.stderr || '').split('\n').filter((l) => l.trim() && !/spawn-fcgi|Command .* is not executable|No such file/.test(l));
  assert.deepEqual(problems, []);
});
