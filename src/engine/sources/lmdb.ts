import { copyFileSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError } from '../errors.js';
import { runSiblingChild } from '../proc/sibling.js';
import type { DatabaseAdapter, SnapshotContext, SourceSnapshot, ValidationResult } from './types.js';

/** Key of an encrypted working-memory env ($AICO_LMDB_KEY); AICO's LMDB is plain by default. */
export function lmdbKey(env: NodeJS.ProcessEnv = process.env): string | null {
  return env.AICO_LMDB_KEY || null;
}

/**
 * LMDB working memory (data/memory/working: data.mdb + lock.mdb). A plain env
 * is copied with LMDB's own hot backup (mdb_env_copy: a consistent read
 * transaction, writers not blocked). For an encrypted env that backup makes
 * copies that cannot be read back, so data.mdb is copied inside a write
 * transaction instead, which holds the cross-process write lock.
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
        await db.backup(ctx.staging, false);
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
