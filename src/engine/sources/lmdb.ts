import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError, throwIfAborted } from '../errors.js';
import { runSiblingChild } from '../proc/sibling.js';
import { loadLmdb } from './lmdb-native.js';
import type { DatabaseAdapter, SnapshotContext, SourceSnapshot, ValidationResult } from './types.js';

/**
 * LMDB working memory (data/memory/working: data.mdb + lock.mdb), as AICO
 * writes it with Python's lmdb: LMDB 0.9, data format 1, never encrypted. It
 * is opened only with lmdb-js built with LMDB 0.9 (see lmdb-native.ts) and
 * copied as LMDB's own hot backup (mdb_env_copy) copies it, see
 * copyUnderReadTxn: a consistent read transaction, writers not blocked.
 */
export const lmdbAdapter: DatabaseAdapter = {
  name: 'lmdb',

  async detect(location) {
    return fs.stat(path.join(location, 'data.mdb')).then((s) => s.isFile(), () => false);
  },

  async snapshot(ctx: SnapshotContext): Promise<SourceSnapshot> {
    const started = Date.now();
    await loadLmdb();
    const dest = path.join(ctx.staging, 'data.mdb');
    // In a child (lmdb-copy-child.ts): opening AICO's env maps it, and lmdb-js built with LMDB 0.9
    // keeps an env's files open after close(); this process must hold neither.
    const copied = await runSiblingChild(import.meta.url, 'lmdb-copy-child', { location: ctx.location, dest }, { signal: ctx.signal });
    throwIfAborted(ctx.signal);
    if (!('reply' in copied) || copied.reply.error !== undefined) {
      const why = 'reply' in copied ? String(copied.reply.error) : 'crashed' in copied ? `LMDB crashed (${copied.crashed})` : 'no answer';
      throw new AicoError('DATABASE_INVALID', `Cannot snapshot the LMDB working memory in ${ctx.location}: ${why}.`, {
        hint: 'Check that it is AICO\'s working memory (LMDB 0.9, as Python\'s lmdb writes it); nothing was written.',
      });
    }
    const stat = await fs.stat(dest);
    const orig = await fs.stat(path.join(ctx.location, 'data.mdb'));
    // The entries the copy records go into metadata now; reading every one of them (what finds a
    // damaged page) runs in a child beside the archive writer, and the archive is kept only if it passes.
    const counted = await inChild(ctx.staging, { countOnly: true });
    if ('problem' in counted) throw new AicoError('DATABASE_INVALID', `The snapshot of ${ctx.location} does not open: ${counted.problem}.`);
    const staging = ctx.staging;
    return {
      files: [{ absPath: dest, relPath: 'data.mdb', size: stat.size, mode: orig.mode, mtime: orig.mtime }],
      stats: {
        encrypted: false,
        consistent: true,
        method: 'lmdb-backup',
        snapshot_ms: Date.now() - started,
        entries: Number(counted.reply.stated),
      },
      check: (signal) => lmdbAdapter.validate(staging, { libsqlKey: null, signal }),
    };
  },

  async validate(location, opts): Promise<ValidationResult> {
    const read = await readEveryEntry(location, opts.signal);
    if ('problem' in read) return { ok: false, counts: {}, problems: [read.problem] };
    const reply = read.reply;
    if (!reply.ok) return { ok: false, counts: { entries: reply.entries }, problems: [`data.mdb: ${reply.entries} entries readable, ${reply.stated} recorded`] };
    return { ok: true, counts: { entries: Number(reply.entries) }, problems: [] };
  },
};

export interface EveryEntry {
  ok: boolean;
  entries: number;
  stated: number;
  databases: Record<string, number>;
  /** Child processes it took (each reads about 32 MiB, see lmdb-child.ts). */
  rounds: number;
}

/** Reads every entry of the env at `location`, in one child after another, and compares the count with the one LMDB states. */
export async function readEveryEntry(location: string, signal?: AbortSignal, residentBudget?: number): Promise<{ reply: EveryEntry } | { problem: string }> {
  const total: EveryEntry = { ok: false, entries: 0, stated: 0, databases: {}, rounds: 0 };
  let resume: unknown;
  do {
    const read = await inChild(location, { ...(resume ? { resume } : {}), ...(residentBudget ? { residentBudget } : {}) }, signal);
    if ('problem' in read) return read;
    const r = read.reply as { entries: number; stated: number; databases: Record<string, number>; resume?: unknown };
    total.rounds++;
    total.entries += r.entries;
    total.stated += r.stated;
    for (const [name, n] of Object.entries(r.databases)) total.databases[name] = (total.databases[name] ?? 0) + n;
    resume = r.resume;
  } while (resume);
  total.ok = total.entries === total.stated;
  return { reply: total };
}

/** Runs lmdb-child on the env at `location`; a crash or an error comes back as a problem in words. */
async function inChild(
  location: string,
  request: { countOnly?: boolean; resume?: unknown; residentBudget?: number },
  signal?: AbortSignal,
): Promise<{ reply: Record<string, unknown> } | { problem: string }> {
  // The child loads the same module: refused here, with how to build the right one, before it opens anything.
  await loadLmdb();
  const hadLock = await fs.stat(path.join(location, 'lock.mdb')).then(() => true, () => false);
  const result = await runSiblingChild(import.meta.url, 'lmdb-child', { path: location, ...request }, { signal });
  if (!hadLock) await fs.rm(path.join(location, 'lock.mdb'), { force: true });
  throwIfAborted(signal);
  if (!('reply' in result)) {
    const how = 'crashed' in result ? result.crashed : 'timeout';
    return { problem: `LMDB crashed reading data.mdb (${how}): the file is damaged` };
  }
  if (result.reply.error) return { problem: `data.mdb: ${String(result.reply.error)}` };
  return { reply: result.reply };
}
