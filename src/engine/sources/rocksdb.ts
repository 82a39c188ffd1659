import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AicoError, isAicoError, throwIfAborted } from '../errors.js';
import { listFiles, stageFile } from './copy.js';
import { processesHolding } from './in-use.js';
import type { DatabaseAdapter, SnapshotContext, SourceSnapshot, ValidationResult } from './types.js';

/**
 * RocksDB working memory, read through the `rocksdb` npm binding (5.2.1, RocksDB 6.17.3).
 * That binding exposes neither Checkpoint nor BackupEngine, so a consistent copy is only
 * possible while no process has the database open: "stopped-copy". Its read-only open
 * (OpenForReadOnly) takes no lock and writes nothing, which is what validation relies on.
 */

type Callback<T> = (err: Error | null | undefined, value?: T) => void;
interface RawIterator {
  next(cb: (err: Error | null | undefined, key?: Buffer) => void): void;
  end(cb: (err?: Error | null) => void): void;
}
interface RawDb {
  open(opts: object, cb: Callback<void>): void;
  close(cb: Callback<void>): void;
  getMany(keys: Buffer[], opts: object, cb: Callback<(Buffer | undefined)[]>): void;
  iterator(opts: object): RawIterator;
}

const require = createRequire(import.meta.url);
let binding: ((location: string) => RawDb) | undefined;
function rawDb(location: string): RawDb {
  binding ??= require('rocksdb') as (location: string) => RawDb;
  return binding(location);
}

function call<T>(fn: (cb: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

const BATCH = 1000;

/**
 * Counts entries and reads every value. The binding's iterators never verify block
 * checksums (hard-coded), but its get/getMany use RocksDB's default ReadOptions, which
 * do; the iterator must not fill the block cache, or getMany would be served the
 * unverified blocks.
 */
async function scan(dir: string, signal?: AbortSignal): Promise<number> {
  const db = rawDb(dir);
  await call<void>((cb) => db.open({ readOnly: true, createIfMissing: false }, cb));
  try {
    const it = db.iterator({ values: false, keyAsBuffer: true, fillCache: false });
    let entries = 0;
    try {
      let keys: Buffer[] = [];
      const check = async () => {
        const values = await call<(Buffer | undefined)[]>((cb) => db.getMany(keys, { asBuffer: true }, cb));
        const missing = values.findIndex((v) => v === undefined);
        if (missing >= 0) throw new Error(`key ${JSON.stringify(keys[missing]!.toString('latin1').slice(0, 80))} is listed but cannot be read`);
        entries += keys.length;
        keys = [];
        throwIfAborted(signal);
      };
      for (;;) {
        const key = await call<Buffer | undefined>((cb) => it.next(cb));
        if (key === undefined) break;
        keys.push(key);
        if (keys.length === BATCH) await check();
      }
      if (keys.length) await check();
    } finally {
      await call<void>((cb) => it.end(cb)).catch(() => undefined);
    }
    return entries;
  } finally {
    await call<void>((cb) => db.close(cb)).catch(() => undefined);
  }
}

function explain(error: unknown): string {
  const msg = error instanceof Error ? error.message : String(error);
  if (/CURRENT: does not exist/.test(msg)) return 'CURRENT is missing, so this is not a complete RocksDB database.';
  if (/newer version of RocksDB/.test(msg)) return `It was written by a newer RocksDB than the one built into aico-backup (6.17.3): ${msg}`;
  return `RocksDB cannot read it: ${msg}`;
}

interface Holder {
  pid: number | null;
  command: string;
}

/** Linux: POSIX locks on the LOCK file from /proc/locks, which also shows other users' processes. */
export async function lockHolders(dir: string): Promise<Holder[]> {
  let st;
  let locks: string;
  try {
    st = await fs.stat(path.join(dir, 'LOCK'));
    locks = await fs.readFile('/proc/locks', 'utf8');
  } catch {
    return [];
  }
  // /proc/locks names the file as major:minor:inode, in hex, from Linux's dev_t encoding.
  const major = (st.dev >>> 8) & 0xfff;
  const minor = (st.dev & 0xff) | ((st.dev >>> 12) & 0xfff00);
  const out: Holder[] = [];
  for (const line of locks.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.includes('->') || f.length < 6) continue; // "->" lines are waiters, not holders
    const [maj = '', min = '', ino = ''] = f[5]!.split(':');
    if (parseInt(maj, 16) !== major || parseInt(min, 16) !== minor || Number(ino) !== st.ino) continue;
    const pid = Number(f[4]);
    const cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    out.push({ pid: pid > 0 ? pid : null, command: cmd.split('\0').filter(Boolean).join(' ').slice(0, 200) || `pid ${pid}` });
  }
  return out;
}

/**
 * Where /proc is missing: opening read-write takes RocksDB's lock, so a lock error means
 * another process has it open. Not used on Linux because a successful open rewrites the
 * MANIFEST and flushes the WAL into a new table (the recovery AICO's next start would do).
 */
export async function probeLock(dir: string): Promise<boolean> {
  const db = rawDb(dir);
  try {
    await call<void>((cb) => db.open({ createIfMissing: false }, cb));
  } catch (error) {
    return /lock/i.test(String((error as Error)?.message));
  }
  await call<void>((cb) => db.close(cb)).catch(() => undefined);
  return false;
}

async function holders(dir: string): Promise<Holder[]> {
  const procs = await processesHolding(dir);
  if (procs === null) return (await probeLock(dir)) ? [{ pid: null, command: 'another process' }] : [];
  if (procs.length) return procs;
  return lockHolders(dir);
}

function inUse(dir: string, found: Holder[]): AicoError {
  const who = found.map((h) => (h.pid === null ? h.command : `pid ${h.pid} (${h.command})`)).join(', ');
  return new AicoError('DATABASE_IN_USE', `The RocksDB working memory at ${dir} is open in ${who}.`, {
    hint: 'Stop AICO and run the backup again, or pass --allow-live to copy it anyway (that copy may not restore).',
    details: { location: dir, pids: found.map((h) => h.pid).filter((p) => p !== null) },
  });
}

/** Copies every regular file; with `live`, files a compaction deletes mid-copy are skipped. */
async function copyAll(src: string, dest: string, live: boolean, signal?: AbortSignal): Promise<SourceSnapshot['files']> {
  const files: SourceSnapshot['files'] = [];
  for (const rel of await listFiles(src)) {
    throwIfAborted(signal);
    try {
      files.push(await stageFile(path.join(src, ...rel.split('/')), dest, rel));
    } catch (error) {
      if (!(live && isAicoError(error, 'NOT_FOUND'))) throw error;
    }
  }
  return files;
}

export const rocksdbAdapter: DatabaseAdapter = {
  name: 'rocksdb',

  async detect(location) {
    const names = await fs.readdir(location).catch(() => null);
    return !!names && names.includes('CURRENT') && (names.includes('IDENTITY') || names.some((n) => n.startsWith('MANIFEST-')));
  },

  async snapshot(ctx: SnapshotContext): Promise<SourceSnapshot> {
    const t0 = performance.now();
    let live = false;
    const goLive = (found: Holder[]) => {
      if (!ctx.allowLive) throw inUse(ctx.location, found);
      live = true;
      ctx.warn('LIVE_COPY', `${inUse(ctx.location, found).message} Copied anyway (--allow-live); the copy may be inconsistent.`);
    };
    const before = await holders(ctx.location);
    if (before.length) goLive(before);
    const files = await copyAll(ctx.location, ctx.staging, live, ctx.signal);
    // A process that opened the database while we copied may have changed files under us.
    if (!live) {
      const after = await holders(ctx.location);
      if (after.length) goLive(after);
    }
    const snapshotMs = Math.round(performance.now() - t0);
    let entries: number | undefined;
    try {
      entries = await scan(ctx.staging, ctx.signal);
    } catch (error) {
      if (error instanceof AicoError) throw error;
      ctx.warn('DATABASE_UNREADABLE', `The copy of ${ctx.location} could not be read back, so no entry count is recorded. ${explain(error)}`);
    }
    return {
      files,
      stats: {
        encrypted: false,
        consistent: !live,
        method: live ? 'live-copy' : 'stopped-copy',
        snapshot_ms: snapshotMs,
        ...(entries === undefined ? {} : { entries }),
      },
    };
  },

  async validate(location, opts): Promise<ValidationResult> {
    const st = await fs.stat(location).catch(() => null);
    if (!st?.isDirectory()) return { ok: false, counts: {}, problems: [`${location} does not exist or is not a directory.`] };
    try {
      return { ok: true, counts: { entries: await scan(location, opts.signal) }, problems: [] };
    } catch (error) {
      if (error instanceof AicoError) throw error;
      return { ok: false, counts: {}, problems: [explain(error)] };
    }
  },
};
