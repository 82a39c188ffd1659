import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError, throwIfAborted } from '../errors.js';
import { runSiblingChild } from '../proc/sibling.js';
import { stageFile } from './copy.js';
import { openLibsql, scalar, tableCounts, type LibsqlDb } from './libsql-db.js';
import type { DatabaseAdapter, SnapshotContext, SourceSnapshot, ValidationResult } from './types.js';

function describe(error: unknown): string {
  const code = (error as { code?: string })?.code ?? '';
  if (code === 'SQLITE_NOTADB') return 'it cannot be opened with the database key (wrong or missing key, or not a database)';
  if (code === 'SQLITE_CORRUPT') return 'the database file is corrupt';
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return 'it is locked by another connection';
  if (code === 'ENOENT') return 'the file does not exist';
  return (error as Error)?.message ?? String(error);
}

function snapshotError(ctx: SnapshotContext, error: unknown): AicoError {
  if (error instanceof AicoError) return error;
  const code = (error as { code?: string })?.code ?? '';
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new AicoError('DATABASE_IN_USE', `Cannot snapshot ${ctx.location}: it stayed locked (another process holds an exclusive lock).`, {
      cause: error,
      hint: 'Try again in a moment, or stop AICO for the backup.',
    });
  }
  return new AicoError('DATABASE_INVALID', `Cannot snapshot ${ctx.location}: ${describe(error)}.`, {
    cause: error,
    hint: ctx.libsqlKey
      ? 'Check that this is the AICO master key the database was created with (and AICO_LIBSQL_KEY, if set).'
      : 'The database key is derived from the AICO master key: make it available in the keyring or as AICO_MASTER_KEY, or leave libsql out with --exclude libsql.',
  });
}

const exists = (p: string) => fs.stat(p).then((s) => s.size, () => -1);

/**
 * Copies the database and its WAL while a read transaction pins one
 * snapshot. In WAL mode a reader blocks no writer; while it holds its mark,
 * no checkpoint copies frames past it into the database file and no writer
 * restarts the WAL, so the copied file plus the copied WAL replay to a
 * committed state (later commits that reached the WAL copy are whole
 * transactions; a torn last frame fails its checksum and is dropped). This is
 * how sqlite3_rsync and Litestream read live databases. In rollback-journal
 * mode the read lock does hold writers back, for the copy only, and that
 * time is reported.
 */
async function copyUnderReadSnapshot(ctx: SnapshotContext, base: string): Promise<{ walMode: boolean; heldMs: number; wal: boolean }> {
  let db: LibsqlDb;
  try {
    db = openLibsql(ctx.location, ctx.libsqlKey);
  } catch (error) {
    throw snapshotError(ctx, error);
  }
  try {
    // Only WAL recovery by another connection can make a reader wait.
    db.exec('PRAGMA busy_timeout = 10000');
    const walMode = String(scalar(db, 'PRAGMA journal_mode')).toLowerCase() === 'wal';
    try {
      db.exec('BEGIN');
      scalar(db, 'SELECT count(*) FROM sqlite_master');
    } catch (error) {
      throw snapshotError(ctx, error);
    }
    const heldAt = Date.now();
    let wal = false;
    try {
      await stageFile(ctx.location, ctx.staging, base);
      if ((await exists(`${ctx.location}-wal`)) > 0) {
        await stageFile(`${ctx.location}-wal`, ctx.staging, `${base}-wal`);
        wal = true;
      }
      await ctx.onReadSnapshotHeld?.();
    } finally {
      db.exec('COMMIT');
    }
    return { walMode, heldMs: Date.now() - heldAt, wal };
  } finally {
    db.close();
  }
}

/** Replays the copied WAL into the copied file, so the archive holds one self-contained database with the live page layout. */
function foldWal(file: string, key: string | null): void {
  const copy = openLibsql(file, key);
  try {
    // A throwaway copy: without fsync, folding 475 MB does not put the disk (and AICO's commits) behind it.
    copy.exec('PRAGMA synchronous = OFF');
    copy.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  } finally {
    copy.close();
  }
}

/**
 * AICO's libSQL database (data/aico.db, keyed with PRAGMA key, plus
 * data/aico.db.salt). The snapshot never takes the write lock: AICO keeps
 * connections and read transactions open, and a checkpoint or BEGIN
 * IMMEDIATE would wait on them and stall AICO's writers meanwhile.
 */
export const libsqlAdapter: DatabaseAdapter = {
  name: 'libsql',

  async detect(location) {
    return fs.stat(location).then((s) => s.isFile(), () => false);
  },

  async snapshot(ctx: SnapshotContext): Promise<SourceSnapshot> {
    const started = Date.now();
    const base = path.basename(ctx.location);
    const salt = `${ctx.location}.salt`;
    const hasSalt = (await exists(salt)) >= 0;
    const held = await copyUnderReadSnapshot(ctx, base);
    const staged = path.join(ctx.staging, base);
    try {
      if (held.wal) foldWal(staged, ctx.libsqlKey);
    } catch (error) {
      throw snapshotError(ctx, error);
    }
    await fs.rm(`${staged}-wal`, { force: true });
    await fs.rm(`${staged}-shm`, { force: true });
    const orig = await fs.stat(ctx.location);
    const files: SourceSnapshot['files'] = [{ absPath: staged, relPath: base, size: (await fs.stat(staged)).size, mode: orig.mode, mtime: orig.mtime }];
    if (hasSalt) files.push(await stageFile(salt, ctx.staging, `${base}.salt`));
    // Counting rows on the staged copy proves it opens with the key (and takes ~0.1 s on 1.6 M rows);
    // the full integrity check reads every page and runs in a child beside the archive writer.
    const tables = await withoutNewSidecars(staged, async () => countTables(ctx, staged));
    const libsqlKey = ctx.libsqlKey;
    return {
      files,
      stats: {
        encrypted: libsqlKey !== null,
        consistent: true,
        method: held.walMode ? 'wal-read-snapshot' : 'read-lock-copy',
        snapshot_ms: Date.now() - started,
        // A WAL reader holds no lock a writer waits for; a rollback-journal reader does, for the copy.
        writer_block_ms: held.walMode ? 0 : held.heldMs,
        read_snapshot_ms: held.heldMs,
        tables,
      },
      check: (signal) => checkInChild(staged, libsqlKey, false, signal),
    };
  },

  async validate(location, opts): Promise<ValidationResult> {
    return checkInChild(location, opts.libsqlKey, true, opts.signal);
  },
};

function countTables(ctx: SnapshotContext, staged: string): Record<string, number> {
  let db: LibsqlDb | null = null;
  try {
    db = openLibsql(staged, ctx.libsqlKey, { readonly: true });
    return tableCounts(db);
  } catch (error) {
    throw new AicoError('DATABASE_INVALID', `The snapshot of ${ctx.location} does not open: ${describe(error)}.`, {
      cause: error,
      hint: 'Check the live database with AICO and the database key; nothing was written.',
    });
  } finally {
    db?.close();
  }
}

/**
 * `PRAGMA integrity_check` (every page read, b-tree structure, index entries
 * against rows: what proves a copy is whole) and, with `counts`, rows per
 * table, in libsql-child.ts so the event loop keeps running meanwhile.
 */
async function checkInChild(location: string, libsqlKey: string | null, counts: boolean, signal?: AbortSignal): Promise<ValidationResult> {
  return withoutNewSidecars(location, async () => {
    const result = await runSiblingChild(import.meta.url, 'libsql-child', { file: location, key: libsqlKey, counts }, { signal });
    throwIfAborted(signal);
    if (!('reply' in result)) {
      const how = 'crashed' in result ? result.crashed : 'timeout';
      return { ok: false, counts: {}, problems: [`${path.basename(location)}: the check process failed (${how})`] };
    }
    const reply = result.reply as { verdicts?: string[]; tables?: Record<string, number>; error?: string; code?: string | null };
    if (reply.error !== undefined) {
      return { ok: false, counts: {}, problems: [`${path.basename(location)}: ${describe({ code: reply.code ?? '', message: reply.error })}`] };
    }
    const verdicts = reply.verdicts ?? [];
    if (verdicts.length !== 1 || verdicts[0] !== 'ok') {
      return { ok: false, counts: {}, problems: [`integrity_check: ${verdicts.slice(0, 5).join('; ')}`] };
    }
    return { ok: true, counts: reply.tables ? { tables: reply.tables } : {}, problems: [] };
  });
}

/** Opening a WAL database leaves an empty -wal and a -shm behind; they must not travel with a copy. */
async function withoutNewSidecars<T>(location: string, use: () => Promise<T>): Promise<T> {
  const sidecars = [`${location}-wal`, `${location}-shm`];
  const existed = await Promise.all(sidecars.map((f) => fs.stat(f).then(() => true, () => false)));
  try {
    return await use();
  } finally {
    for (const [i, f] of sidecars.entries()) {
      if (existed[i]) continue;
      const size = await fs.stat(f).then((s) => s.size, () => -1);
      if (f.endsWith('-shm') || size === 0) await fs.rm(f, { force: true });
    }
  }
}
