import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type LibsqlDatabase from 'libsql';

export type LibsqlDb = LibsqlDatabase.Database;

const require = createRequire(import.meta.url);

/**
 * Opens a libSQL file exactly as AICO does (shared/aico/data/libsql/encrypted.py):
 * `PRAGMA key = 'x"<hex>"'` right after opening. (libsql's aes256cbc takes that
 * string as a passphrase, not a raw key: docs/FORMAT.md §16; what matters here
 * is doing what AICO does.) The driver is npm `libsql` itself: @libsql/client's
 * `encryptionKey` treats its string as a passphrase (a different key), and
 * its transaction() hands the connection away and reopens one without the
 * PRAGMA. A wrong key surfaces as SQLITE_NOTADB on the first read.
 * The driver ignores `readonly` and `fileMustExist` (it would create an
 * empty database), hence the stat first and `query_only`.
 */
export function openLibsql(file: string, key: string | null, opts: { readonly?: boolean; create?: boolean } = {}): LibsqlDb {
  if (!opts.create && !statSync(file, { throwIfNoEntry: false })?.isFile()) throw Object.assign(new Error(`${file} does not exist`), { code: 'ENOENT' });
  const Database = require('libsql') as typeof LibsqlDatabase;
  const db = new Database(file);
  try {
    if (key) {
      if (!/^[0-9a-f]{64}$/i.test(key)) throw Object.assign(new Error('the libSQL key must be 64 hex characters'), { code: 'SQLITE_NOTADB' });
      db.exec(`PRAGMA key = 'x"${key}"'`);
    }
    scalar(db, 'SELECT count(*) FROM sqlite_master');
    if (opts.readonly) db.exec('PRAGMA query_only = ON');
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

// npm libsql 0.5 differs from better-sqlite3 here: pluck().get() still returns a row object, and
// close() leaves the connection open until its statements are garbage collected (so db.pragma()
// "busies" a later journal_mode change). Transactions are therefore always ended explicitly
// before close: an ended transaction holds no lock, whatever the lingering connection does.

/** The first column of every row. */
export function column(db: LibsqlDb, sql: string): unknown[] {
  return (db.prepare(sql).raw().all() as unknown[][]).map((row) => row[0]);
}

/** The first column of the first row. */
export function scalar(db: LibsqlDb, sql: string): unknown {
  return (db.prepare(sql).raw().get() as unknown[] | undefined)?.[0];
}

/** Rows per user table: what metadata records and restore compares. */
export function tableCounts(db: LibsqlDb): Record<string, number> {
  const names = column(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name") as string[];
  const counts: Record<string, number> = {};
  for (const name of names) counts[name] = Number(scalar(db, `SELECT count(*) FROM "${name.replace(/"/g, '""')}"`));
  return counts;
}

/** The settings AICO applies after keying a connection (encrypted.py, config/defaults/database.yaml). */
export function applyAicoSettings(db: LibsqlDb): void {
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 30000; PRAGMA wal_autocheckpoint = 1000');
}
