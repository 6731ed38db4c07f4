// flow.test.mjs — the admin's main path in a real browser: log in, add a provider key, create a
// virtual key and copy its token with the Copy button, send a request through the gateway with
// the copied token, find that request in Logs (list, filter, detail) and Sessions, and see it
// counted in Analytics. Each page is saved as a full-page screenshot for review.
//
// The steps depend on each other (one gateway instance), so they run in order as one test each;
// `state` carries what a step produced.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { useAdminBrowser, assertClean, login, screenshot } from './lib/browser.mjs';
import { request } from '../integration/lib/http.mjs';
import { MOCK_TEXT, MOCK_USAGE } from '../integration/lib/mock-upstream.mjs';

const ctx = useAdminBrowser({ name: 'flow' });
const RUN = randomUUID().slice(0, 8);
const PK = 'mock-upstream';
const VK = 'checkout-app';
const AGENT = 'support-bot';
const PROMPT = `Where is my order ${RUN}?`;
const SESSION = `order-help-${RUN}`;
const state = { pk: null, token: null, logId: null };
let w = null; // the admin's browser page with its recorders, shared by the steps

function nav(page, name) {
  return page.getByRole('navigation').getByRole('link', { name, exact: true });
}

/** The <form> that holds a button with this exact name. */
function formWithButton(page, name) {
  return page.locator('form').filter({ has: page.getByRole('button', { name, exact: true }) });
}

ctx.test('log in and add a provider key on the Keys page (the secret is never shown)', async () => {
  w = await ctx.openPersistent({ permissions: ['clipboard-read', 'clipboard-write'] });
  const { page } = w;
  await login(page, ctx.admin.user, ctx.admin.password);
  await page.getByRole('heading', { name: 'Provider keys' }).waitFor();
  const form = formWithButton(page, 'Add');
  await form.getByLabel('Name', { exact: true }).fill(PK);
  await form.getByLabel('Provider').selectOption('openai-compatible');
  await form.getByLabel('Base URL').fill(ctx.mock.baseUrl);
  await form.getByLabel('Secret', { exact: true }).fill(ctx.secret);
  await form.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByRole('status').filter({ hasText: `Provider key ${PK} added.` }).waitFor();
  const row = page.getByRole('row').filter({ has: page.getByRole('cell', { name: PK, exact: true }) });
  await row.getByRole('cell', { name: 'openai-compatible', exact: true }).waitFor();
  await row.getByRole('cell', { name: ctx.mock.baseUrl, exact: true }).waitFor();
  assert.ok(!(await page.content()).includes(ctx.secret), 'the provider secret appears in the Keys page');
  await screenshot(page, 'keys');
  assertClean(w.ev, {}, 'the Keys page');
  state.pk = PK;
});

ctx.test('create a virtual key and copy its token with the Copy button', async () => {
  assert.ok(state.pk, 'no provider key from the previous step');
  const { page } = w;
  await nav(page, 'Agents & Virtual Keys').click();
  await page.getByRole('heading', { name: 'Agents & Virtual Keys' }).waitFor();
  const form = formWithButton(page, 'Create');
  await form.getByLabel('Name (the app, service or user)').fill(VK);
  await form.getByLabel('Provider key').selectOption(PK);
  await form.getByLabel('Agent', { exact: true }).fill(AGENT);
  await form.getByLabel('Department', { exact: true }).fill('support');
  await form.getByRole('button', { name: 'Create', exact: true }).click();
  await page.getByText(`Virtual key ${VK} created.`).waitFor();
  const shown = (await page.locator('output#new-token').textContent()).trim();
  assert.match(shown, /^vk-[A-Za-z0-9_-]{20,}$/, 'the new token is shown once');
  await screenshot(page, 'vks-created');

  // The Copy button exists only with admin.js (it is hidden without it): click it, then read
  // what it put on the clipboard.
  await page.evaluate(() => navigator.clipboard.writeText('clipboard not written'));
  await page.getByRole('button', { name: 'Copy', exact: true }).click();
  await page.getByRole('button', { name: 'Copied', exact: true }).waitFor();
  state.token = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(state.token, shown, 'the clipboard holds the token shown');

  // The list shows the key with its agent, but never the whole token.
  const row = page.locator('table.vks').getByRole('row').filter({ has: page.getByRole('cell', { name: VK, exact: true }) });
  await row.getByRole('cell', { name: AGENT, exact: true }).waitFor();
  // The agent the key named is listed on its own, with that key.
  await page.locator('table.agents').getByRole('row').filter({ has: page.getByRole('cell', { name: AGENT, exact: true }) })
    .getByRole('cell', { name: VK, exact: true }).waitFor();
  // (The answer to the POST shows the token; a reload would post again: open the page anew.)
  await page.goto('/admin/vks');
  await row.waitFor();
  assert.ok(!(await page.content()).includes(state.token), 'the token is shown again on the page');
  await screenshot(page, 'vks');
  assertClean(w.ev, {}, 'the Agents & Virtual Keys page');
});

ctx.test('the copied token works against the gateway', async () => {
  assert.ok(state.token, 'no token from the previous step');
  ctx.mock.clear();
  const res = await request(ctx.gw.base, {
    method: 'POST',
    path: '/v1/chat/completions',
    headers: {
      authorization: `Bearer ${state.token}`,
      'content-type': 'application/json',
      'alephant-property-environment': `staging-${RUN}`,
      'alephant-property-feature': 'order-status',
      'alephant-session-id': SESSION,
      'alephant-session-name': 'Order help',
      'alephant-session-path': '/lookup',
    },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] }),
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().choices[0].message.content, MOCK_TEXT);
  state.logId = res.headers['alephant-id'];
  assert.ok(state.logId, 'alephant-id header');
  // The provider key added in the browser is what reached the upstream.
  assert.equal(ctx.mock.requests.length, 1);
  assert.equal(ctx.mock.requests[0].headers.authorization, `Bearer ${ctx.secret}`);
  // Log rows are written asynchronously: wait for the row before opening the pages.
  await ctx.gw.waitForLog((r) => r.request_id === state.logId);
});

ctx.test('the request is in Logs with its properties, found by a property filter and opened in full', async () => {
  assert.ok(state.logId, 'no request from the previous step');
  const { page } = w;
  await nav(page, 'Logs').click();
  await page.getByRole('heading', { name: 'Logs', exact: true }).waitFor();
  const row = page.getByRole('row').filter({ hasText: `environment=staging-${RUN}` });
  await row.waitFor();
  assert.equal(await row.count(), 1);
  for (const cell of [VK, AGENT, 'gpt-4o-mini', `${MOCK_USAGE.prompt_tokens} / ${MOCK_USAGE.completion_tokens}`]) {
    await row.getByRole('cell', { name: cell, exact: true }).waitFor();
  }
  await row.getByText('feature=order-status').waitFor();
  await row.getByRole('link', { name: SESSION }).waitFor();
  assert.match(await row.getByRole('cell').nth(1).textContent(), /^200\b/);
  await screenshot(page, 'logs');

  // The filter form: a property and value that match, then one that does not.
  const filters = formWithButton(page, 'Filter');
  await filters.getByLabel('Property', { exact: true }).fill('environment');
  await filters.getByLabel('Value', { exact: true }).fill(`staging-${RUN}`);
  await filters.getByRole('button', { name: 'Filter', exact: true }).click();
  await page.waitForURL(/[?&]property=environment/);
  await row.waitFor();
  assert.equal(await page.locator('table.logs tbody tr').count(), 1, 'the filter keeps exactly our row');
  await screenshot(page, 'logs-filtered');
  await filters.getByLabel('Value', { exact: true }).fill(`production-${RUN}`);
  await filters.getByRole('button', { name: 'Filter', exact: true }).click();
  await page.getByText('No requests match.').waitFor();
  await page.goBack();
  await row.waitFor();

  // The detail page, through the row's link.
  await row.getByRole('link').first().click();
  await page.getByRole('heading', { name: `Request ${state.logId}` }).waitFor();
  await page.getByRole('heading', { name: 'Properties' }).waitFor();
  const props = page.locator('table.kv').first();
  await props.getByRole('row').filter({ hasText: 'environment' }).getByRole('cell', { name: `staging-${RUN}` }).waitFor();
  await props.getByRole('row').filter({ hasText: 'feature' }).getByRole('cell', { name: 'order-status' }).waitFor();
  await page.getByText(PROMPT).first().waitFor();
  await page.getByText(MOCK_TEXT).first().waitFor();
  const html = await page.content();
  assert.ok(!html.includes(state.token), 'the virtual key appears in the log detail');
  assert.ok(!html.includes(ctx.secret), 'the provider secret appears in the log detail');
  await screenshot(page, 'log-detail');
  assertClean(w.ev, {}, 'the Logs pages');
});

ctx.test('the request is in its session', async () => {
  assert.ok(state.logId, 'no request from an earlier step');
  const { page } = w;
  await nav(page, 'Sessions').click();
  await page.getByRole('heading', { name: 'Sessions', exact: true }).waitFor();
  const link = page.getByRole('link', { name: SESSION });
  await link.first().waitFor();
  await screenshot(page, 'sessions');
  await link.first().click();
  await page.waitForURL(new RegExp(`/admin/sessions/${SESSION}$`));
  await page.getByText('/lookup').first().waitFor();
  await page.getByText('Order help').first().waitFor();
  await screenshot(page, 'session-detail');
  assertClean(w.ev, {}, 'the Sessions pages');
});

ctx.test('Analytics counts the request, in the totals and by virtual key', async () => {
  assert.ok(state.logId, 'no request from an earlier step');
  const { page } = w;
  await nav(page, 'Analytics').click();
  await page.getByRole('heading', { name: 'Analytics', exact: true }).waitFor();
  // This gateway instance has served exactly one request.
  const totals = page.locator('table.totals');
  assert.equal(await cellUnder(totals, 'Requests', 0), '1');
  assert.equal(await cellUnder(totals, 'Total tokens', 0), String(MOCK_USAGE.total_tokens));
  const form = formWithButton(page, 'Show');
  await form.getByLabel('Breakdown').selectOption({ label: 'Virtual key' });
  await form.getByRole('button', { name: 'Show', exact: true }).click();
  await page.getByRole('heading', { name: 'By virtual_key' }).waitFor();
  const breakdown = page.locator('table.breakdown');
  const vkRow = breakdown.getByRole('row').filter({ has: page.getByRole('cell', { name: VK, exact: true }) });
  await vkRow.waitFor();
  assert.equal(await breakdown.locator('tbody tr').count(), 1);
  assert.equal(await cellUnder(breakdown, 'Requests', 0), '1');
  assert.ok(await page.locator('figure.chart svg').count() > 0, 'the charts are drawn');
  await screenshot(page, 'analytics');
  assertClean(w.ev, {}, 'the Analytics page');
});

/** Text of the body cell of row `index` under the column headed `header` in table. */
async function cellUnder(table, header, index) {
  await table.waitFor();
  const heads = (await table.locator('thead th').allTextContents()).map((t) => t.trim());
  const col = heads.indexOf(header);
  assert.ok(col >= 0, `no column ${header} in ${JSON.stringify(heads)}`);
  return (await table.locator('tbody tr').nth(index).locator('td').nth(col).textContent()).trim();
}
