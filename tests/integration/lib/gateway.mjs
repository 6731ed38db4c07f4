// gateway.mjs — starts a real lighttpd + alephant-gateway FastCGI workers for one test file.
//
// Paths come from the environment `make check` gives run.sh (top_srcdir, top_builddir, LIGHTTPD);
// when run by hand they default to this source tree, built in place.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
export const TOP_SRCDIR = path.resolve(process.env.top_srcdir || path.join(here, '..', '..', '..'));
export const TOP_BUILDDIR = path.resolve(process.env.top_builddir || TOP_SRCDIR);
export const LIGHTTPD = process.env.LIGHTTPD || '/usr/sbin/lighttpd';
export const GATEWAY_BIN = path.join(TOP_BUILDDIR, 'alephant-gateway');
export const CTL_BIN = path.join(TOP_BUILDDIR, 'alephantctl');
export const ADMIN_BIN = path.join(TOP_BUILDDIR, 'alephant-admin');

/** require() for the npm packages run.sh installed (GW_NODE_MODULES). */
export function requirePackage(name) {
  const dir = process.env.GW_NODE_MODULES || path.join(TOP_BUILDDIR, 'tests', 'node_modules');
  return createRequire(dir.endsWith('/') ? dir : dir + '/')(name);
}

export async function freePort() {
  const srv = net.createServer();
  await new Promise((resolve, reject) => { srv.once('error', reject); srv.listen(0, '127.0.0.1', resolve); });
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

function tryConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
  });
}

/**
 * Runs a program and collects its output. Resolves { code, signal, stdout, stderr }; never
 * rejects for a non-zero exit. input (string/Buffer) is written to stdin, which is then closed.
 */
export function run(file, args, { env, input, timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.once('error', (e) => { clearTimeout(timer); reject(e); });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const res = { code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (timedOut) res.stderr += `\n[killed after ${timeoutMs} ms]`;
      resolve(res);
    });
    child.stdin.on('error', () => { /* the program may exit without reading stdin */ });
    if (input !== undefined) child.stdin.end(input); else child.stdin.end();
  });
}

/** pids (other than ours) whose environment has ALEPHANT_HOME=<stateDir>, or whose command line names it. */
function processesOf(stateDir) {
  const found = [];
  const needle = Buffer.from(`ALEPHANT_HOME=${stateDir}\0`);
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent) || Number(ent) === process.pid) continue;
    try {
      const environ = fs.readFileSync(`/proc/${ent}/environ`);
      const cmdline = fs.readFileSync(`/proc/${ent}/cmdline`);
      const stat = fs.readFileSync(`/proc/${ent}/stat`, 'utf8');
      // zombies are already gone as far as we care (their parent reaps them)
      if (/\) Z /.test(stat)) continue;
      if (environ.includes(needle) || cmdline.includes(Buffer.from(stateDir))) {
        found.push({ pid: Number(ent), cmd: cmdline.toString('utf8').replace(/\0/g, ' ').trim() });
      }
    } catch { /* process went away, or not ours to read */ }
  }
  return found;
}

/** The gateway worker processes of this instance. */
function workersOf(stateDir) {
  return processesOf(stateDir).filter((p) => {
    try { return fs.readlinkSync(`/proc/${p.pid}/exe`) === fs.realpathSync(GATEWAY_BIN); } catch { return false; }
  }).concat(processesOf(stateDir).filter((p) => p.cmd.includes(GATEWAY_BIN) && !p.cmd.startsWith(LIGHTTPD)))
    .filter((p, i, a) => a.findIndex((q) => q.pid === p.pid) === i);
}

function appendOption(existing, extra) {
  return existing ? `${existing}:${extra}` : extra;
}

/**
 * Starts lighttpd with the gateway behind it. Options:
 *   processes (2), threads (8), env: extra environment for the gateway and alephantctl,
 *   maxRequestKb (20480).
 * Returns an object: { port, base ("http://127.0.0.1:PORT"), stateDir, env, ctl(), addProviderKey(),
 *   createVk(), logs(), waitForLog(), waitForLogs(), stop() }.
 */
export async function startGateway({ processes = 2, threads = 8, env: extraEnv = {}, maxRequestKb = 20480 } = {}) {
  for (const [what, p] of [['lighttpd', LIGHTTPD], ['alephant-gateway', GATEWAY_BIN], ['alephantctl', CTL_BIN]]) {
    if (!fs.existsSync(p)) throw new Error(`${what} not found at ${p}`);
  }
  const stateDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'alephant-it-'));
  await fsp.mkdir(path.join(stateDir, 'run'), { recursive: true });
  const port = await freePort();

  const template = await fsp.readFile(path.join(TOP_SRCDIR, 'lighttpd.conf'), 'utf8');
  const values = {
    BIND: '127.0.0.1',
    PORT: String(port),
    STATE_DIR: stateDir,
    WWW_DIR: path.join(TOP_SRCDIR, 'www'),
    GATEWAY_BIN,
    ADMIN_BIN,
    PROCESSES: String(processes),
    MAX_REQUEST_KB: String(maxRequestKb),
  };
  // Only the known placeholders are replaced (comments in the template mention @NAME@).
  const conf = template.replace(/@([A-Z_]+)@/g, (m, name) => (name in values ? values[name] : m));
  const confPath = path.join(stateDir, 'lighttpd.conf');
  await fsp.writeFile(confPath, conf);

  const env = {
    ...process.env,
    ALEPHANT_HOME: stateDir,
    ALEPHANT_THREADS: String(threads),
    ALEPHANT_ALLOW_PRIVATE_UPSTREAMS: '1',
    ...extraEnv,
  };
  delete env.ALEPHANT_CONFIG;
  env.ASAN_OPTIONS = appendOption(process.env.ASAN_OPTIONS, `log_path=${stateDir}/asan`);
  env.UBSAN_OPTIONS = appendOption(process.env.UBSAN_OPTIONS, `log_path=${stateDir}/ubsan`);
  env.LSAN_OPTIONS = appendOption(process.env.LSAN_OPTIONS, `log_path=${stateDir}/lsan`);
  env.TSAN_OPTIONS = appendOption(process.env.TSAN_OPTIONS, `log_path=${stateDir}/tsan`);

  let failed = false;
  const gw = {
    port,
    base: `http://127.0.0.1:${port}`,
    stateDir,
    env,
    lighttpd: null,
    lighttpdExit: null,
    /** Marks the run as failed so stop() keeps the state directory. */
    markFailed() { failed = true; },

    /** Runs alephantctl with the gateway's environment; returns stdout, throws (with stderr) on failure. */
    async ctl(args, { input } = {}) {
      const r = await run(CTL_BIN, args, { env, input });
      if (r.code !== 0) {
        const e = new Error(`alephantctl ${args.join(' ')} exited ${r.code ?? r.signal}:\n${r.stderr}${r.stdout}`);
        e.result = r;
        throw e;
      }
      return r.stdout;
    },
    /** Same, but resolves the full { code, stdout, stderr } without throwing. */
    ctlResult(args, { input } = {}) {
      return run(CTL_BIN, args, { env, input });
    },

    async addProviderKey({ name, provider = 'openai-compatible', baseUrl, secret, apiVersion }) {
      const args = ['provider-key', 'add', '--name', name, '--provider', provider];
      if (baseUrl !== undefined) args.push('--base-url', baseUrl);
      if (apiVersion !== undefined) args.push('--api-version', apiVersion);
      if (secret !== undefined) {
        args.push('--key-stdin');
        return gw.ctl(args, { input: secret + '\n' });
      }
      return gw.ctl(args);
    },

    async createVk({ name, providerKey, models, department, agent, expires }) {
      const args = ['vk', 'create', '--name', name, '--provider-key', providerKey];
      if (models !== undefined) args.push('--models', Array.isArray(models) ? models.join(',') : models);
      if (department !== undefined) args.push('--department', department);
      if (agent !== undefined) args.push('--agent', agent);
      if (expires !== undefined) args.push('--expires', expires);
      const out = await gw.ctl(args);
      const m = out.match(/vk-[A-Za-z0-9_-]{20,}/);
      return m ? m[0] : out.trim();
    },

    /**
     * Adds or updates a routing target of virtual key vkName: `vk target set`. modelMap is an
     * object { from: to } or the literal "from=to,…" text.
     */
    async setTarget(vkName, providerKey, { priority, weight, modelMap } = {}) {
      const args = ['vk', 'target', 'set', vkName, '--provider-key', providerKey];
      if (priority !== undefined) args.push('--priority', String(priority));
      if (weight !== undefined) args.push('--weight', String(weight));
      if (modelMap !== undefined) {
        args.push('--model-map', typeof modelMap === 'string' ? modelMap
          : Object.entries(modelMap).map(([from, to]) => `${from}=${to}`).join(','));
      }
      return gw.ctl(args);
    },
    async removeTarget(vkName, providerKey) {
      return gw.ctl(['vk', 'target', 'remove', vkName, '--provider-key', providerKey]);
    },
    /** `vk target list NAME --json`, parsed. */
    async targets(vkName) {
      return JSON.parse(await gw.ctl(['vk', 'target', 'list', vkName, '--json']));
    },
    /** `price set`; amounts are decimal USD per million tokens (strings or numbers). */
    async setPrice({ model, provider, input, output, cachedInput, effective }) {
      const args = ['price', 'set', '--model', model, '--provider', provider,
        '--input', String(input), '--output', String(output)];
      if (cachedInput !== undefined) args.push('--cached-input', String(cachedInput));
      if (effective !== undefined) args.push('--effective', effective);
      return gw.ctl(args);
    },

    async logs(limit = 1000) {
      const out = await gw.ctl(['logs', 'list', '--limit', String(limit), '--json']);
      const rows = JSON.parse(out);
      if (!Array.isArray(rows)) throw new Error(`logs list --json did not print an array: ${out.slice(0, 500)}`);
      return rows;
    },

    /**
     * Polls the logs (rows are written asynchronously, in batches) until at least `count` rows
     * match predicate; resolves them. Rejects after timeoutMs with what was seen.
     */
    async waitForLogs(predicate, { count = 1, timeoutMs = 10_000, limit = 1000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      let rows = [];
      for (;;) {
        rows = await gw.logs(limit);
        const hits = rows.filter(predicate);
        if (hits.length >= count) return hits;
        if (Date.now() > deadline) {
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${count} log row(s); ${hits.length} matched of ${rows.length} rows. Newest rows:\n` +
            JSON.stringify(rows.slice(0, 5), null, 1).slice(0, 4000));
        }
        await sleep(150);
      }
    },
    async waitForLog(predicate, timeoutMs = 10_000) {
      return (await gw.waitForLogs(predicate, { count: 1, timeoutMs }))[0];
    },
    /**
     * Waits for the row(s) of one request, then gives the asynchronous writer a moment more and
     * re-reads, so a duplicate row written later would be seen. Resolves all matching rows.
     */
    async settledLogs(predicate, { settleMs = 800, timeoutMs = 10_000 } = {}) {
      await gw.waitForLogs(predicate, { count: 1, timeoutMs });
      await sleep(settleMs);
      return (await gw.logs(1000)).filter(predicate);
    },

    /** Pids of processes of this instance still alive (lighttpd, workers, alephantctl). */
    processes() { return processesOf(stateDir); },

    /**
     * SIGTERM to lighttpd (which stops its workers); waits for all of our processes to be gone;
     * then fails if any sanitizer report was written. Removes the state directory on success.
     */
    async stop({ keep = false } = {}) {
      const problems = [];
      const lt = gw.lighttpd;
      if (lt && gw.lighttpdExit === null) {
        lt.kill('SIGTERM');
        let timer;
        const exited = await Promise.race([
          gw.lighttpdExited,
          new Promise((resolve) => { timer = setTimeout(() => resolve(false), 15_000); }),
        ]);
        clearTimeout(timer);
        if (exited === false) {
          problems.push('lighttpd did not exit within 15 s of SIGTERM (killed)');
          lt.kill('SIGKILL');
          await gw.lighttpdExited;
        }
      }
      const deadline = Date.now() + 15_000;
      let left = processesOf(stateDir);
      while (left.length > 0 && Date.now() < deadline) {
        await sleep(100);
        left = processesOf(stateDir);
      }
      if (left.length > 0) {
        problems.push(`processes still running 15 s after lighttpd stopped (killed): ${JSON.stringify(left)}`);
        for (const p of left) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
      }
      // Sanitizer reports: asan.<pid>, ubsan.<pid>, lsan.<pid>, tsan.<pid>
      for (const f of await fsp.readdir(stateDir)) {
        if (!/^(asan|ubsan|lsan|tsan)/.test(f)) continue;
        const content = await fsp.readFile(path.join(stateDir, f), 'utf8').catch(() => '');
        if (content.trim() !== '') problems.push(`sanitizer report ${f}:\n${content}`);
      }
      if (problems.length > 0 || failed) {
        const msg = `gateway instance ${stateDir} (kept for debugging):\n` + problems.join('\n\n');
        if (problems.length > 0) {
          const log = await fsp.readFile(path.join(stateDir, 'lighttpd-error.log'), 'utf8').catch(() => '');
          throw new Error(msg + (log ? `\n--- lighttpd-error.log (tail) ---\n${log.slice(-4000)}` : ''));
        }
        process.stderr.write(`# kept ${stateDir} for debugging\n`);
        return;
      }
      if (!keep) await fsp.rm(stateDir, { recursive: true, force: true });
    },
    /** Removes the state directory after stop({ keep: true }), unless the run was marked failed. */
    async removeStateDir() {
      if (!failed) await fsp.rm(stateDir, { recursive: true, force: true });
    },
  };

  // Database, master key.
  try {
    await gw.ctl(['init']);
  } catch (e) {
    failed = true;
    throw new Error(`alephantctl init failed (state dir ${stateDir} kept): ${e.message}`);
  }

  const lt = spawn(LIGHTTPD, ['-D', '-f', confPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  gw.lighttpd = lt;
  let ltOutput = '';
  lt.stdout.on('data', (c) => { ltOutput += c; });
  lt.stderr.on('data', (c) => { ltOutput += c; });
  gw.lighttpdExited = new Promise((resolve) => {
    lt.once('exit', (code, signal) => { gw.lighttpdExit = { code, signal }; resolve(true); });
    lt.once('error', (e) => { gw.lighttpdExit = { error: e }; resolve(true); });
  });

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (gw.lighttpdExit !== null) break;
    if (await tryConnect(port)) {
      // lighttpd keeps running (answering 503) when its FastCGI workers die at start: also wait
      // for the workers to be up.
      if (workersOf(stateDir).length >= processes) return gw;
    }
    if (Date.now() > deadline) break;
    await sleep(100);
  }
  failed = true;
  const errlog = await fsp.readFile(path.join(stateDir, 'lighttpd-error.log'), 'utf8').catch(() => '(no lighttpd-error.log)');
  if (gw.lighttpdExit === null) { lt.kill('SIGKILL'); await gw.lighttpdExited; }
  for (const p of processesOf(stateDir)) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
  throw new Error(`lighttpd did not start listening on 127.0.0.1:${port} with ${processes} gateway worker(s) up ` +
    `(${gw.lighttpdExit === null ? `timeout 20 s, workers: ${JSON.stringify(workersOf(stateDir))}` : 'exited ' + JSON.stringify(gw.lighttpdExit)}); ` +
    `state dir ${stateDir} kept.\n--- lighttpd output ---\n${ltOutput}\n--- lighttpd-error.log ---\n${errlog}`);
}
