// auth.test.mjs — the admin's login, session cookie, logout and roles as a real browser sees them.

import assert from 'node:assert/strict';
import { useAdminBrowser, assertClean, login, screenshot } from './lib/browser.mjs';

const ctx = useAdminBrowser({ name: 'auth' });
const SESSION_COOKIE = 'alephant_admin';

ctx.test('the admin start page sends a stranger to the login form', async () => {
  const { page, ev } = await ctx.open();
  await page.goto('/admin/');
  await page.waitForURL(/\/admin\/login/);
  await assertVisibleLoginForm(page);
  await screenshot(page, 'login');
  assertClean(ev, {}, 'the login page');
});

ctx.test('a wrong password is refused on the page; no session cookie is set', async () => {
  const { page, context, ev } = await ctx.open();
  await page.goto('/admin/login');
  await page.getByLabel('User', { exact: true }).fill(ctx.admin.user);
  await page.getByLabel('Password', { exact: true }).fill(ctx.admin.password + 'x');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('Wrong user name or password.').waitFor();
  assert.match(new URL(page.url()).pathname, /\/admin\/login$/);
  // The user name typed is kept, the password is not.
  assert.equal(await page.getByLabel('User', { exact: true }).inputValue(), ctx.admin.user);
  assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '');
  await screenshot(page, 'login-wrong-password');
  const cookies = await context.cookies();
  assert.equal(cookies.find((c) => c.name === SESSION_COOKIE), undefined, 'no session cookie after a failed login');
  assertClean(ev, { allowStatus: [401] }, 'the failed login');
});

ctx.test('log in as admin: Keys page, HttpOnly SameSite=Strict session cookie; log out ends the session', async () => {
  const { page, context, ev } = await ctx.open();
  await login(page, ctx.admin.user, ctx.admin.password);
  assert.match(new URL(page.url()).pathname, /^\/admin\/keys$/, 'an admin starts on the Keys page');
  await page.getByRole('heading', { name: 'Provider keys' }).waitFor();
  const nav = page.getByRole('navigation');
  for (const item of ['Keys', 'Agents & Virtual Keys', 'Logs', 'Analytics', 'Sessions']) {
    await nav.getByRole('link', { name: item, exact: true }).waitFor();
  }
  await page.getByText(`${ctx.admin.user} (admin)`).waitFor();
  await screenshot(page, 'keys-empty');

  const session = (await context.cookies()).find((c) => c.name === SESSION_COOKIE);
  assert.ok(session, `the browser holds the ${SESSION_COOKIE} cookie`);
  assert.equal(session.httpOnly, true, 'session cookie is HttpOnly');
  assert.equal(session.sameSite, 'Strict', 'session cookie is SameSite=Strict');
  assert.equal(session.path, '/admin', 'session cookie is limited to the admin');
  assert.equal(session.secure, false, 'over plain HTTP the cookie cannot be Secure');
  assert.ok(session.value.length >= 32, 'the session id is long');
  // HttpOnly as the page's scripts see it: not in document.cookie.
  const visible = await page.evaluate(() => document.cookie);
  assert.ok(!visible.includes(SESSION_COOKIE + '='), `document.cookie shows the session: ${visible}`);

  // Log out with the header's button.
  await Promise.all([
    page.waitForURL(/\/admin\/login/),
    page.getByRole('button', { name: 'Log out' }).click(),
  ]);
  await assertVisibleLoginForm(page);
  const after = (await context.cookies()).find((c) => c.name === SESSION_COOKIE);
  assert.ok(after === undefined || after.value !== session.value, 'logout removes or replaces the session cookie');
  await page.goto('/admin/keys');
  await page.waitForURL(/\/admin\/login\?next=/);
  assertClean(ev, {}, 'login, Keys and logout');

  // The old cookie value is dead on the server too, not just forgotten by this browser.
  const replay = await ctx.open();
  await replay.context.addCookies([{ ...session }]);
  await replay.page.goto('/admin/keys');
  await replay.page.waitForURL(/\/admin\/login\?next=/);
  await assertVisibleLoginForm(replay.page);
  assertClean(replay.ev, {}, 'the replayed cookie');
});

ctx.test('a viewer reads Logs and Analytics but gets 403 on Keys and no Keys link', async () => {
  const { page, ev } = await ctx.open();
  await login(page, ctx.viewer.user, ctx.viewer.password);
  assert.match(new URL(page.url()).pathname, /^\/admin\/logs$/, 'a viewer starts on the Logs page');
  await page.getByText(`${ctx.viewer.user} (viewer)`).waitFor();
  const nav = page.getByRole('navigation');
  for (const item of ['Logs', 'Analytics', 'Sessions']) {
    await nav.getByRole('link', { name: item, exact: true }).waitFor();
  }
  assert.equal(await nav.getByRole('link', { name: 'Keys', exact: true }).count(), 0, 'no Keys link for a viewer');
  assert.equal(await nav.getByRole('link', { name: 'Agents & Virtual Keys', exact: true }).count(), 0);

  for (const p of ['/admin/logs', '/admin/analytics']) {
    const res = await page.goto(p);
    assert.equal(res.status(), 200, `viewer GET ${p}`);
  }
  await screenshot(page, 'viewer-analytics');

  for (const p of ['/admin/keys', '/admin/vks']) {
    const res = await page.goto(p);
    assert.equal(res.status(), 403, `viewer GET ${p}`);
    await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
    assert.equal(await page.getByLabel('Secret').count(), 0, 'no key form on the refused page');
  }
  await screenshot(page, 'viewer-keys-403');
  assertClean(ev, { allowStatus: [403] }, 'the viewer pages');
});

async function assertVisibleLoginForm(page) {
  await page.getByRole('heading', { name: 'Log in' }).waitFor();
  await page.getByLabel('User', { exact: true }).waitFor();
  await page.getByLabel('Password', { exact: true }).waitFor();
}
