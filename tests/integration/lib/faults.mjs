// faults.mjs — helpers for the fault-injection tests (faults-*.test.mjs): direct SQLite access to
// a gateway instance's database (sqlite3 CLI), a writer lock held by another process, tiny tmpfs
// mounts for disk-full, the gateway worker processes of an instance and their /proc figures.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, GATEWAY_BIN } from './gateway.mjs';

/** The database of a gateway instance (default location). */
export function dbPathOf(gw) {
  return gw.dbPath ?? path.join(gw.stateDir, 'alephant.db');
}

/** Runs one query with the sqlite3 CLI; resolves its stdout, trimmed. Throws on failure. */
export async function sql(dbPath, query, { readonly = true, timeoutMs = 30_000 } = {}) {
  const args = readonly ? ['-readonly', dbPath] : [dbPath];
  const r = await run('sqlite3', [...args, '-cmd', '.timeout 10000', query], { timeoutMs });
  if (r.code !== 0) throw new Error(`sqlite3 ${query}: exit ${r.code ?? r.signal}: ${r.stderr}`);
  return r.stdout.trim();
}

export async function integrityCheck(dbPath) {
  return sql(dbPath, 'PRAGMA integrity_check;');
}

/**
 * Another process (the sqlite3 CLI) takes the database's write lock (BEGIN IMMEDIATE; in WAL mode
 * readers still read) and keeps it until release() is called. Resolves { release() } once held.
 */
export async function holdLock(dbPath) {
  const child = spawn('sqlite3', [dbPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => { out += c; });
  child.stderr.on('data', (c) => { err += c; });
  const exited = new Promise((resolve) => child.once('close', resolve));
  child.stdin.write(".timeout 10000\nBEGIN IMMEDIATE;\nSELECT 'lock-held';\n");
  const deadline = Date.now() + 20_000;
  while (!out.includes('lock-held')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sqlite3 could not take the lock: ${err}${out}`);
    }
    await sleep(20);
  }
  return {
    async release() {
      if (child.exitCode === null) child.stdin.end('COMMIT;\n.quit\n');
      await exited;
      if (err.trim() !== '') throw new Error(`sqlite3 lock holder: ${err}`);
    },
  };
}

/**
 * Mounts a tmpfs of sizeBytes at dir (mode 0700). Resolves null when mounted, else the reason it
 * could not be (not root, no permission in this container, no mount binary).
 */
export async function mountTmpfs(dir, sizeBytes) {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not running as root';
  fs.mkdirSync(dir, { recursive: true });
  const r = await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir]).catch((e) => ({ code: -1, stderr: e.message }));
  if (r.code !== 0) return `mount -t tmpfs failed: ${(r.stderr || '').trim() || `exit ${r.code}`}`;
  return null;
}

export async function umount(dir) {
  for (let i = 0; i < 50; i++) {
    const r = await run('umount', [dir]);
    if (r.code === 0) return;
    await sleep(100);
  }
  await run('umount', ['-l', dir]);
}

/** Fills the filesystem of dir with a file until it is full (ENOSPC). Returns the file's path. */
export function fillDisk(dir) {
  const file = path.join(dir, 'filler');
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  try {
    for (;;) {
      try {
        fs.writeSync(fd, chunk);
      } catch (e) {
        if (e.code === 'ENOSPC') break;
        throw e;
      }
    }
    // the last partial chunk: byte by byte until nothing fits
    const one = Buffer.from('a');
    for (;;) {
      try { fs.writeSync(fd, one); } catch (e) { if (e.code === 'ENOSPC') break; throw e; }
    }
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** Pids of the gateway worker processes that are children of the instance's lighttpd. */
export function workerPids(gw) {
  const ltPid = gw.lighttpd?.pid;
  const exe = fs.realpathSync(GATEWAY_BIN);
  const out = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${ent}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || Number(fields[1]) !== ltPid) continue;
      if (fs.readlinkSync(`/proc/${ent}/exe`) === exe) out.push(Number(ent));
    } catch { /* gone */ }
  }
  return out;
}

/** VmRSS and VmHWM (KiB) of a process. */
export function memOf(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status) || [])[1]);
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** Checks every log row is whole: the columns every row gets are set, and nothing dangles. */
export async function assertRowsWhole(dbPath, assert) {
  const bad = await sql(dbPath, "SELECT count(*) FROM request_logs WHERE request_id IS NULL OR length(request_id) <> 36 OR created_at IS NULL OR status IS NULL OR status < 100 OR method IS NULL OR path IS NULL OR latency_ms IS NULL;");
  assert.equal(bad, '0', `${bad} log row(s) lack columns every row gets`);
  const orphans = await sql(dbPath, 'SELECT count(*) FROM request_attempts a WHERE NOT EXISTS (SELECT 1 FROM request_logs l WHERE l.id = a.log_id);');
  assert.equal(orphans, '0', `${orphans} attempt row(s) without their log row`);
  const fk = await sql(dbPath, 'PRAGMA foreign_key_check;');
  assert.equal(fk, '', `foreign key violations: ${fk}`);
}
