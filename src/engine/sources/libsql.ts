import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError } from '../errors.js';
import { stageFile } from './copy.js';
import type { DatabaseAdapter, SnapshotContext, SourceSnapshot, ValidationResult } from './types.js';

type Client = import('@libsql/client').Client;

async function open(file: string, key: string | null): Promise<Client> {
  const { createClient } = await import('@libsql/client');
  return createClient({ url: `file:${file}`, ...(key ? { encryptionKey: key } : {}) });
}

async function tableCounts(client: Client): Promise<Record<string, number>> {
  const tables = await client.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
  const counts: Record<string, number> = {};
  for (const row of tables.rows) {
    const name = String(row.name);
    const r = await client.execute(`SELECT count(*) AS n FROM "${name.replace(/"/g, '""')}"`);
    counts[name] = Number(r.rows[0]!.n);
  }
  return counts;
}

function describe(error: unknown): string {
  const code = (error as { code?: string })?.code ?? '';
  if (code === 'SQLITE_NOTADB') return 'it cannot be opened with the database key (wrong or missing key, or not a database)';
  if (code === 'SQLITE_CORRUPT') return 'the database file is corrupt';
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return 'it is locked by another connection';
  return (error as Error)?.message ?? String(error);
}

function snapshotError(ctx: SnapshotContext, error: unknown): AicoError {
  const code = (error as { code?: string })?.code ?? '';
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new AicoError('DATABASE_IN_USE', `Cannot snapshot ${ctx.location}: another connection held its write lock for 30 s.`, {
      cause: error,
      hint: 'Something keeps a long write transaction open; try again, or stop AICO for the backup.',
    });
  }
  return new AicoError('DATABASE_INVALID', `Cannot snapshot ${ctx.location}: ${describe(error)}.`, {
    cause: error,
    hint: ctx.libsqlKey
      ? 'Check that this is the AICO master key the database was created with.'
      : 'The database key is derived from the AICO master key: make it available in the keyring or as AICO_MASTER_KEY, or leave libsql out with --exclude libsql.',
  });
}

/**
 * AICO's libSQL database (data/aico.db, encrypted, plus data/aico.db.salt).
 * The hot snapshot keeps the page layout byte for byte, which page-level
 * incremental backups need (FINDINGS: VACUUM INTO rewrites it): checkpoint
 * the WAL, then under BEGIN IMMEDIATE (no other writer can change the file)
 * copy the database and any -wal into staging, then release. Readers are
 * never blocked; writers only for the copy.
 */
export const libsqlAdapter: DatabaseAdapter = {
  name: 'libsql',

  async detect(location) {
    return fs.stat(location).then((s) => s.isFile(), () => false);
  },

  async snapshot(ctx: SnapshotContext): Promise<SourceSnapshot> {
    const started = Date.now();
    const base = path.basename(ctx.location);
    const files: SourceSnapshot['files'] = [];
    const salt = `${ctx.location}.salt`;
    const hasSalt = await fs.stat(salt).then((s) => s.isFile(), () => false);
    const client = await open(ctx.location, ctx.libsqlKey);
    let blockedMs = 0;
    try {
      // AICO's own transactions are short: wait for them rather than fail with SQLITE_BUSY.
      await client.execute('PRAGMA busy_timeout = 30000').catch(() => {});
      // Outside the transaction: a checkpoint inside BEGIN IMMEDIATE fails with SQLITE_LOCKED (FINDINGS).
      await client.execute('PRAGMA wal_checkpoint(TRUNCATE)').catch((error) => {
        throw snapshotError(ctx, error);
      });
      const tx = await client.transaction('write').catch((error) => {
        throw snapshotError(ctx, error);
      });
      const lockedAt = Date.now();
      try {
        files.push(await stageFile(ctx.location, ctx.staging, base));
        const wal = `${ctx.location}-wal`;
        const walSize = await fs.stat(wal).then((s) => s.size, () => 0);
        if (walSize > 0) files.push(await stageFile(wal, ctx.staging, `${base}-wal`));
      } finally {
        await tx.rollback().catch(() => {});
        blockedMs = Date.now() - lockedAt;
      }
    } finally {
      client.close();
    }
    if (hasSalt) files.push(await stageFile(salt, ctx.staging, `${base}.salt`));
    // Counting on the staged copy keeps the lock window to the copy alone, and proves the copy opens.
    const check = await libsqlAdapter.validate(files[0]!.absPath, { libsqlKey: ctx.libsqlKey });
    if (!check.ok) {
      throw new AicoError('DATABASE_INVALID', `The snapshot of ${ctx.location} does not validate: ${check.problems.join('; ')}.`, {
        hint: 'Check the live database with AICO; nothing was written.',
      });
    }
    return {
      files,
      stats: {
        encrypted: ctx.libsqlKey !== null,
        consistent: true,
        method: 'wal-checkpoint+immediate-copy',
        snapshot_ms: Date.now() - started,
        writer_block_ms: blockedMs,
        tables: check.counts.tables,
      },
    };
  },

  async validate(location, opts): Promise<ValidationResult> {
    let client: Client | null = null;
    // Opening a WAL database leaves an empty -wal and a -shm behind; they must not travel with a restored copy.
    const sidecars = [`${location}-wal`, `${location}-shm`];
    const existed = await Promise.all(sidecars.map((f) => fs.stat(f).then(() => true, () => false)));
    try {
      client = await open(location, opts.libsqlKey);
      const integrity = await client.execute('PRAGMA integrity_check');
      const verdicts = integrity.rows.map((r) => String(Object.values(r)[0]));
      if (verdicts.length !== 1 || verdicts[0] !== 'ok') {
        return { ok: false, counts: {}, problems: [`integrity_check: ${verdicts.slice(0, 5).join('; ')}`] };
      }
      return { ok: true, counts: { tables: await tableCounts(client) }, problems: [] };
    } catch (error) {
      return { ok: false, counts: {}, problems: [`${path.basename(location)}: ${describe(error)}`] };
    } finally {
      client?.close();
      for (const [i, f] of sidecars.entries()) {
        if (existed[i]) continue;
        const size = await fs.stat(f).then((s) => s.size, () => -1);
        if (f.endsWith('-shm') || size === 0) await fs.rm(f, { force: true });
      }
    }
  },
};
