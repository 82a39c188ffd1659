import { closeSync, constants, fstatSync, openSync, readSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError, throwIfAborted } from '../errors.js';
import { runSiblingChild } from '../proc/sibling.js';
import { loadLmdb } from './lmdb-native.js';
import type { DatabaseAdapter, SnapshotContext, SourceSnapshot, ValidationResult } from './types.js';

/**
 * A plain env's consistent copy, made the way LMDB's own non-compacting
 * mdb_env_copy makes it, but with the kernel copying the file
 * (copy_file_range) instead of this process writing it out of its map: every
 * page mdb_env_copy read stayed resident here, so the create's main process
 * grew to the size of the store (298 MiB peak RSS on the 1000 MiB bench
 * home's 213 MiB store). As in mdb_env_copy: a read transaction is begun
 * first and held to the end, so no page reachable from it or from any later
 * commit can be reused by a writer while the file is copied; the two meta
 * pages are read under the write lock (so no commit is rewriting them), and
 * those, not the ones the copy saw later, go into the copy, which is cut to
 * the file's length at that moment (every page they reach lies below it).
 * Writers wait only for the two-page read.
 */
async function copyUnderReadTxn(db: import('lmdb').RootDatabase, src: string, dest: string): Promise<void> {
  const txn = db.useReadTransaction();
  try {
    const pageSize = (db.getStats() as { pageSize: number }).pageSize;
    const metas = Buffer.alloc(2 * pageSize);
    let length = 0;
    db.transactionSync(() => {
      const fd = openSync(src, 'r');
      try {
        length = fstatSync(fd).size;
        if (readSync(fd, metas, 0, metas.length, 0) !== metas.length) throw new Error(`${src} is shorter than its meta pages`);
      } finally {
        closeSync(fd);
      }
    });
    await fs.copyFile(src, dest, constants.COPYFILE_EXCL);
    const out = await fs.open(dest, 'r+');
    try {
      await out.truncate(length);
      await out.write(metas, 0, metas.length, 0);
    } finally {
      await out.close();
    }
  } finally {
    txn.done();
  }
}

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
    const { open } = await loadLmdb();
    const db = open({ path: ctx.location });
    const dest = path.join(ctx.staging, 'data.mdb');
    try {
      await copyUnderReadTxn(db, path.join(ctx.location, 'data.mdb'), dest);
    } finally {
      await db.close();
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
    // The child loads the same module: refused here, with how to build the right one, before it opens anything.
    await loadLmdb();
    const read = await inChild(location, {}, opts.signal);
    if ('problem' in read) return { ok: false, counts: {}, problems: [read.problem] };
    const reply = read.reply;
    if (!reply.ok) return { ok: false, counts: { entries: Number(reply.entries) }, problems: [`data.mdb: ${reply.entries} entries readable, ${reply.stated} recorded`] };
    return { ok: true, counts: { entries: Number(reply.entries) }, problems: [] };
  },
};

/** Runs lmdb-child on the env at `location`; a crash or an error comes back as a problem in words. */
async function inChild(
  location: string,
  request: { countOnly?: boolean },
  signal?: AbortSignal,
): Promise<{ reply: Record<string, unknown> } | { problem: string }> {
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
