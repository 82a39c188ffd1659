import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { applyAicoSettings, openLibsql, scalar, type LibsqlDb } from '../../../src/engine/sources/libsql-db.js';

/** A random raw libSQL key, as AICO derives one (32 bytes, hex). */
export const randomLibsqlKey = () => randomBytes(32).toString('hex');

/** Opens (or creates) a database the way AICO's connect() does. */
export function aicoConnect(file: string, key: string, create = false): LibsqlDb {
  const db = openLibsql(file, key, { create });
  applyAicoSettings(db);
  return db;
}

/** Two accounts holding 1000 between them, a transfer log and its counter: invariants a torn copy breaks. */
export async function makeBank(file: string, key: string, journal: 'wal' | 'delete' = 'wal'): Promise<void> {
  // npm libsql keeps a closed connection alive while its statements are, so the journal mode is chosen once, here.
  const db = journal === 'wal' ? aicoConnect(file, key, true) : openLibsql(file, key, { create: true });
  db.exec(`CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
    CREATE TABLE transfers (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL, note TEXT);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO accounts VALUES (1, 500), (2, 500);
    INSERT INTO counters VALUES ('transfers', 0);`);
  db.close();
  await fs.writeFile(`${file}.salt`, randomBytes(16));
}

/** The bank's invariants in a copy: total money and transfers == counter. */
export function bankState(file: string, key: string): { sum: number; transfers: number; counted: number } {
  const db = openLibsql(file, key);
  try {
    const one = (sql: string) => Number(scalar(db, sql));
    return { sum: one('SELECT sum(balance) FROM accounts'), transfers: one('SELECT count(*) FROM transfers'), counted: one("SELECT value FROM counters WHERE name = 'transfers'") };
  } finally {
    db.close();
  }
}
