import { closeSync, constants, copyFileSync, fstatSync, openSync, readSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError } from '../errors.js';
import { runSiblingChild } from '../proc/sibling.js';
import type { DatabaseAdapter, SnapshotContext, SourceSnapshot, ValidationResult } from './types.js';

/** Key of an encrypted working-memory env ($AICO_LMDB_KEY); AICO's LMDB is plain by default. */
export function lmdbKey(env: NodeJS.ProcessEnv = process.env): string | null {
  return env.AICO_LMDB_KEY || null;
}

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
 * LMDB working memory (data/memory/working: data.mdb + lock.mdb). A plain env
 * is copied as LMDB's own hot backup (mdb_env_copy) copies it, see
 * copyUnderReadTxn: a consistent read transaction, writers not blocked. For an
 * encrypted env mdb_env_copy makes copies that cannot be read back, so
 * data.mdb is copied inside a write transaction instead, which holds the
 * cross-process write lock.
 */
export const lmdbAdapter: DatabaseAdapter = {
  name: 'lmdb',

  async detect(location) {
    return fs.stat(path.join(location, 'data.mdb')).then((s) => s.isFile(), () => false);
  },

  async snapshot(ctx: SnapshotContext): Promise<SourceSnapshot> {
    const started = Date.now();
    const key = lmdbKey();
    const { open } = await import('lmdb');
    const db = open({ path: ctx.location, ...(key ? { encryptionKey: key } : {}) });
    const dest = path.join(ctx.staging, 'data.mdb');
    let blockedMs: number | undefined;
    try {
      if (key) {
        const lockedAt = Date.now();
        db.transactionSync(() => {
          // Synchronous on purpose: the write lock is held only while this callback runs.
          copyFileSync(path.join(ctx.location, 'data.mdb'), dest);
        });
        blockedMs = Date.now() - lockedAt;
      } else {
        await copyUnderReadTxn(db, path.join(ctx.location, 'data.mdb'), dest);
      }
    } finally {
      await db.close();
    }
    const stat = await fs.stat(dest);
    const orig = await fs.stat(path.join(ctx.location, 'data.mdb'));
    const check = await lmdbAdapter.validate(ctx.staging, { libsqlKey: null });
    await fs.rm(path.join(ctx.staging, 'lock.mdb'), { force: true });
    if (!check.ok) {
      throw new AicoError('DATABASE_INVALID', `The snapshot of ${ctx.location} does not validate: ${check.problems.join('; ')}.`);
    }
    return {
      files: [{ absPath: dest, relPath: 'data.mdb', size: stat.size, mode: orig.mode, mtime: orig.mtime }],
      stats: {
        encrypted: key !== null,
        consistent: true,
        method: key ? 'write-txn-copy' : 'lmdb-backup',
        snapshot_ms: Date.now() - started,
        ...(blockedMs !== undefined ? { writer_block_ms: blockedMs } : {}),
        entries: check.counts.entries,
      },
    };
  },

  async validate(location): Promise<ValidationResult> {
    const hadLock = await fs.stat(path.join(location, 'lock.mdb')).then(() => true, () => false);
    const result = await runSiblingChild(import.meta.url, 'lmdb-child', { path: location, key: lmdbKey() });
    if (!hadLock) await fs.rm(path.join(location, 'lock.mdb'), { force: true });
    if (!('reply' in result)) {
      const how = 'crashed' in result ? result.crashed : 'timeout';
      return { ok: false, counts: {}, problems: [`LMDB crashed reading data.mdb (${how}): the file is damaged, or encrypted and AICO_LMDB_KEY is missing or wrong`] };
    }
    const reply = result.reply;
    if (reply.error) return { ok: false, counts: {}, problems: [`data.mdb: ${String(reply.error)}`] };
    if (!reply.ok) return { ok: false, counts: { entries: Number(reply.entries) }, problems: [`data.mdb: ${reply.entries} entries readable, ${reply.stated} recorded`] };
    return { ok: true, counts: { entries: Number(reply.entries) }, problems: [] };
  },
};
