// admin-client.mjs — a browser-like client of the admin program for the tests: a cookie jar,
// login through the form (with its double-submit token), the CSRF token read from pages, and
// accounts / API tokens made with alephantctl. Built on http.mjs's request().

import assert from 'node:assert/strict';
import { request } from './http.mjs';

/** The security headers every admin response must carry (lower-case name → test). */
export const SECURITY_HEADERS = {
  'content-security-policy': (v) => /default-src 'self'/.test(v) && /script-src 'self'/.test(v)
    && !/unsafe-inline/.test(v) && /frame-ancestors 'none'/.test(v),
  'x-frame-options': (v) => v === 'DENY',
  'x-content-type-options': (v) => v === 'nosniff',
  'referrer-policy': (v) => v === 'same-origin',
  'cache-control': (v) => /no-store/.test(v),
};

export function assertSecurityHeaders(res, what) {
  for (const [name, ok] of Object.entries(SECURITY_HEADERS)) {
    const v = res.headers[name];
    assert.ok(v !== undefined && ok(String(v)), `${what}: header ${name} is ${JSON.stringify(v)}`);
  }
}

/** Form body (x-www-form-urlencoded). */
export function form(fields) {
  return new URLSearchParams(fields).toString();
}

/** Creates an admin account (alephantctl admin add). */
export async function addAdminUser(gw, user, password, role = 'admin') {
  await gw.ctl(['admin', 'add', '--user', user, '--password-stdin', '--role', role], { input: password + '\n' });
}

/** Creates an admin API token; resolves the token. */
export async function createAdminToken(gw, name, role = 'admin') {
  const out = await gw.ctl(['admin', 'token', 'create', '--name', name, '--role', role]);
  const m = out.match(/adm-[A-Za-z0-9_-]{43}/);
  assert.ok(m, `no token in: ${out}`);
  return m[0];
}

export class AdminClient {
  constructor(base) {
    this.base = base;        // "http://127.0.0.1:PORT"
    this.cookies = new Map();
  }

  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Keeps Set-Cookie values (Max-Age=0 deletes). */
  remember(res) {
    let sc = res.headers['set-cookie'] || [];
    if (!Array.isArray(sc)) sc = [sc];
    for (const c of sc) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/;\s*Max-Age=0/i.test(c) || value === '') this.cookies.delete(name); else this.cookies.set(name, value);
    }
    return res;
  }

  async req(method, path, { headers = {}, body } = {}) {
    const h = { ...headers };
    if (this.cookies.size > 0) h.cookie = this.cookieHeader();
    return this.remember(await request(this.base, { method, path, headers: h, body }));
  }

  get(path, opts) { return this.req('GET', path, opts); }

  /** POSTs a form; the session's CSRF token is added unless csrf is given (null = none). */
  async post(path, fields = {}, { csrf } = {}) {
    const f = { ...fields };
    const token = csrf === undefined ? this.csrf : csrf;
    if (token !== null && token !== undefined) f.csrf = token;
    return this.req('POST', path, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form(f) });
  }

  /** Logs in through the form; resolves the POST's response. */
  async login(user, password, { next } = {}) {
    const page = await this.get('/admin/login');
    const token = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1];
    assert.ok(token, `no login token in: ${page.text.slice(0, 300)}`);
    const fields = { user, password, csrf: token };
    if (next) fields.next = next;
    const res = await this.req('POST', '/admin/login', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form(fields),
    });
    if (res.status === 303 && this.cookies.has('alephant_admin')) await this.refreshCsrf();
    return res;
  }

  /** Reads the session's CSRF token from /admin/api/me. */
  async refreshCsrf() {
    const me = await this.get('/admin/api/me');
    assert.equal(me.status, 200, me.text);
    this.csrf = me.json().csrf_token;
    return this.csrf;
  }

  /** A JSON API call with the session cookie and its CSRF header. */
  api(method, path, body, { csrf = true } = {}) {
    const headers = {};
    if (csrf && this.csrf) headers['x-csrf-token'] = this.csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    return this.req(method, path, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }
}

/** A JSON API call with a bearer admin token. */
export function apiWithToken(base, token, method, path, body) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return request(base, { method, path, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}
