import { constants, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AicoError, isAicoError, throwIfAborted } from '../errors.js';
import { serverCheck } from './chroma-check.js';
import { listFiles, stageFile } from './copy.js';
import { processesHolding, type HoldingProcess } from './in-use.js';
import type { DatabaseAdapter, SnapshotContext, SourceSnapshot, ValidationResult } from './types.js';

const DB_FILE = 'chroma.sqlite3';
/** The files of Chroma's SQLite database: the database and, after an interrupted write, its journal (rolled back or forward when the copy is opened). */
const SQLITE_FILES = [DB_FILE, `${DB_FILE}-journal`, `${DB_FILE}-wal`];
/** Chroma's own default tenant and database; AICO keeps everything there. */
const TENANT = 'default_tenant';
const DATABASE = 'default_database';

type Client = import('@libsql/client').Client;

async function openSqlite(file: string): Promise<Client> {
  const { createClient } = await import('@libsql/client');
  return createClient({ url: `file:${file}` });
}

function message(error: unknown): string {
  return (error as Error)?.message ?? String(error);
}

/** max_seq_id is an INTEGER since Chroma 0.5 and an 8-byte big-endian BLOB before. */
function seqId(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (value instanceof ArrayBuffer) return Number(Buffer.from(value).readBigUInt64BE(0));
  return Number(value);
}

interface SqlCounts {
  collections: Record<string, number>;
  /** Collections with log entries not yet applied to their metadata segment: their SQL count is not final. */
  pending: string[];
}

/**
 * Records per collection read from Chroma's own tables: the rows of each
 * collection's METADATA segment. Chroma applies every write to that segment
 * right after logging it, so this equals the server's count() unless the
 * server died in between (reported in `pending`). Read-only: unlike a server
 * start, it does not change the file.
 */
async function sqlCounts(dbFile: string): Promise<SqlCounts> {
  const client = await openSqlite(dbFile);
  try {
    const rows = await client.execute({
      sql: `SELECT c.id AS id, c.name AS name, m.seq_id AS seq,
                   (SELECT count(*) FROM embeddings e WHERE e.segment_id = s.id) AS n
            FROM collections c
            JOIN databases d ON d.id = c.database_id
            LEFT JOIN segments s ON s.collection = c.id AND s.scope = 'METADATA'
            LEFT JOIN max_seq_id m ON m.segment_id = s.id
            WHERE d.name = ? AND d.tenant_id = ?
            ORDER BY c.name`,
      args: [DATABASE, TENANT],
    });
    const out: SqlCounts = { collections: {}, pending: [] };
    for (const row of rows.rows) {
      const name = String(row.name);
      out.collections[name] = Number(row.n);
      const queued = await client.execute({
        sql: `SELECT count(*) AS n FROM embeddings_queue WHERE seq_id > ? AND topic LIKE '%/' || ?`,
        args: [seqId(row.seq), String(row.id)],
      });
      if (Number(queued.rows[0]!.n) > 0) out.pending.push(name);
    }
    return out;
  } finally {
    client.close();
  }
}

async function sqliteIntegrity(dbFile: string): Promise<string[]> {
  const client = await openSqlite(dbFile);
  try {
    const result = await client.execute('PRAGMA integrity_check(10)');
    const verdicts = result.rows.map((r) => String(Object.values(r)[0]));
    return verdicts.length === 1 && verdicts[0] === 'ok' ? [] : [`${DB_FILE} fails SQLite's integrity check: ${verdicts.join('; ')}`];
  } catch (error) {
    return [`${DB_FILE} cannot be read: ${message(error)}`];
  } finally {
    client.close();
  }
}

/**
 * Each HNSW segment's header.bin says how many vectors it holds, and
 * data_level0.bin stores them as fixed-size records, so the file must be at
 * least that long. (It may be longer: a new index preallocates its capacity,
 * 10,000 records, and losing that unused tail loses nothing.) The server does
 * not check this when it loads the index: it fails, or returns wrong vectors,
 * only once a missing record is read.
 */
async function hnswProblems(root: string, files: string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const header of files.filter((f) => f.endsWith('/header.bin'))) {
    const dir = path.posix.dirname(header);
    const buf = await fs.readFile(path.join(root, header)).catch(() => Buffer.alloc(0));
    if (buf.length < 100) {
      problems.push(`HNSW index ${dir}: header.bin is ${buf.length} bytes, expected 100.`);
      continue;
    }
    // Layout (chroma-hnswlib): u32 version, then u64 offsetLevel0, max_elements, cur_element_count, size_data_per_element.
    const capacity = Number(buf.readBigUInt64LE(12));
    const count = Number(buf.readBigUInt64LE(20));
    const recordSize = Number(buf.readBigUInt64LE(28));
    if (recordSize <= 0 || recordSize > 1 << 20 || count > capacity || capacity > 1e10) {
      problems.push(`HNSW index ${dir}: header.bin is damaged.`);
      continue;
    }
    const size = await fs.stat(path.join(root, dir, 'data_level0.bin')).then((s) => s.size, () => -1);
    if (size === -1) problems.push(`HNSW index ${dir}: data_level0.bin is missing.`);
    else if (size < count * recordSize) {
      problems.push(`HNSW index ${dir}: data_level0.bin is ${size} bytes, too short for the ${count} vectors its header lists (${count * recordSize} bytes); it was truncated.`);
    }
  }
  return problems;
}

/**
 * A server start writes to chroma.sqlite3 (it inserts an acquire_write row),
 * so the server only ever runs on a throwaway copy. Next to the store when
 * possible: same filesystem, so the copy can be a reflink and the space is
 * taken where the user expects it.
 */
async function onThrowawayCopy<T>(location: string, files: string[], use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(path.dirname(location), '.chroma-validate-')).catch(() => fs.mkdtemp(path.join(os.tmpdir(), 'aico-chroma-validate-')));
  try {
    for (const rel of files) {
      const dest = path.join(dir, ...rel.split('/'));
      await fs.mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
      await fs.copyFile(path.join(location, ...rel.split('/')), dest, constants.COPYFILE_FICLONE);
    }
    return await use(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function holderNames(holders: HoldingProcess[]): string {
  return holders.map((h) => `${h.command} (pid ${h.pid})`).join(', ');
}

function inUseError(location: string, holders: HoldingProcess[]): AicoError {
  const first = holders[0]!;
  return new AicoError('DATABASE_IN_USE', `The ChromaDB store in ${location} is in use by ${holderNames(holders)}.`, {
    hint: 'Stop AICO (or that process) and run the backup again, or pass --allow-live to copy it anyway (the copy may be inconsistent).',
    details: { pid: first.pid, command: first.command, file: first.file, holders },
  });
}

/**
 * AICO's semantic memory: a Chroma persist directory (chroma.sqlite3 plus one
 * folder per HNSW segment). Chroma has no online backup and its HNSW files are
 * rewritten in place, so the only consistent copy is one taken while no
 * process has the store open.
 */
export const chromaAdapter: DatabaseAdapter = {
  name: 'chromadb',

  async detect(location) {
    return fs.stat(path.join(location, DB_FILE)).then((s) => s.isFile(), () => false);
  },

  async snapshot(ctx: SnapshotContext): Promise<SourceSnapshot> {
    const started = Date.now();
    throwIfAborted(ctx.signal);
    let live = false;
    const holders = await processesHolding(ctx.location);
    if (holders === null) {
      // No /proc: Chroma keeps no lock or pid file, so nothing reliable tells us whether a server is running.
      ctx.warn('IN_USE_UNCHECKED', `Could not check whether a process is using ${ctx.location}; make sure AICO is stopped, or the copy may be inconsistent.`);
    } else if (holders.length > 0) {
      if (!ctx.allowLive) throw inUseError(ctx.location, holders);
      live = true;
      ctx.warn('LIVE_COPY', `Copying the ChromaDB store in ${ctx.location} while ${holderNames(holders)} has it open; the copy may be inconsistent.`);
    }

    const rels = await listFiles(ctx.location);
    if (rels.includes(`${DB_FILE}-journal`) || rels.includes(`${DB_FILE}-wal`)) {
      // Copied along, so Chroma's SQLite rolls the interrupted write back (or forward) when the copy is opened.
      ctx.warn('INTERRUPTED_WRITE', `${ctx.location} has a SQLite journal next to ${DB_FILE}: a write is in progress or was interrupted.`);
    }
    const files: SourceSnapshot['files'] = [];
    for (const rel of rels) {
      throwIfAborted(ctx.signal);
      try {
        files.push(await stageFile(path.join(ctx.location, ...rel.split('/')), ctx.staging, rel));
      } catch (error) {
        // A live writer may delete files (e.g. a rebuilt segment) while we copy.
        if (live && isAicoError(error, 'NOT_FOUND')) continue;
        throw error;
      }
    }

    if (!live && holders !== null) {
      // A writer that started during the copy makes it as unsafe as a live copy.
      const late = await processesHolding(ctx.location);
      if (late && late.length > 0) {
        if (!ctx.allowLive) throw inUseError(ctx.location, late);
        live = true;
        ctx.warn('LIVE_COPY', `${holderNames(late)} opened ${ctx.location} while it was being copied; the copy may be inconsistent.`);
      }
    }

    let collections: Record<string, number> | undefined;
    try {
      const counted = await sqlCounts(path.join(ctx.staging, DB_FILE));
      // Writes logged but not applied (the server died in between) are replayed by the server alone.
      collections = counted.pending.length === 0
        ? counted.collections
        : (await onThrowawayCopy(ctx.staging, files.map((f) => f.relPath), (dir) => serverCheck(dir, { signal: ctx.signal, warn: ctx.warn }))).collections;
    } catch (error) {
      if (ctx.signal?.aborted) throw error;
      ctx.warn('COUNT_FAILED', `Could not count the records in the ChromaDB copy: ${message(error)}`);
    }

    return {
      files,
      stats: { encrypted: false, consistent: !live, method: live ? 'live-copy' : 'stopped-copy', snapshot_ms: Date.now() - started, ...(collections ? { collections } : {}) },
    };
  },

  async validate(location, opts): Promise<ValidationResult> {
    const problems: string[] = [];
    let files: string[];
    try {
      files = await listFiles(location);
    } catch (error) {
      return { ok: false, counts: {}, problems: [`${location} cannot be read: ${message(error)}`] };
    }
    if (!files.includes(DB_FILE)) return { ok: false, counts: {}, problems: [`${DB_FILE} is missing from ${location}.`] };

    problems.push(...(await hnswProblems(location, files)));
    try {
      return await onThrowawayCopy(location, files, async (copy) => {
        // SQLite's integrity check and the table counts (2 s of a 4.5 s check on a 360 MiB store)
        // run on a second copy of the SQLite files alone, at the same time as the server on the
        // first: the server writes to its copy, and the counts must be those from before it did,
        // to compare with what the server says. Same bytes, same verdicts as one after the other.
        const tables = onThrowawayCopy(location, files.filter((f) => SQLITE_FILES.includes(f)), async (own) => {
          const db = path.join(own, DB_FILE);
          const damaged = await sqliteIntegrity(db);
          return { damaged, fromTables: damaged.length ? null : await sqlCounts(db).catch(() => null) };
        });
        // Settled now, awaited below: a copy that fails while the server runs is reported then, not left unhandled.
        tables.catch(() => {});
        let checked;
        try {
          checked = await serverCheck(copy, { signal: opts.signal, warn: opts.warn });
        } catch (error) {
          problems.push(...(await tables.then((t) => t.damaged, () => [])));
          if (opts.signal?.aborted) throw error;
          // The user knows the store, not our throwaway copy of it.
          problems.push(message(error).split(copy).join(location));
          return { ok: false, counts: {}, problems };
        }
        const { damaged, fromTables } = await tables;
        throwIfAborted(opts.signal);
        problems.push(...damaged);
        problems.push(...checked.problems);
        for (const [name, n] of Object.entries(fromTables?.collections ?? {})) {
          if (fromTables!.pending.includes(name) || !(name in checked.collections)) continue;
          if (checked.collections[name] !== n) problems.push(`Collection "${name}": the server counts ${checked.collections[name]} records, its tables hold ${n}.`);
        }
        return { ok: problems.length === 0, counts: { collections: checked.collections }, problems };
      });
    } catch (error) {
      if (opts.signal?.aborted) throw error;
      problems.push(`Validation failed: ${message(error)}`);
      return { ok: false, counts: {}, problems };
    }
  },
};
