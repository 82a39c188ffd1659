import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createClient } from '@libsql/client';
import { libsqlAdapter } from '../../../src/engine/sources/libsql.js';
import { tempDir } from '../../helpers.js';
import { startWriter } from './live-writer.js';

const KEY = randomBytes(32).toString('hex');

async function makeBank(file: string): Promise<void> {
  const db = createClient({ url: `file:${file}`, encryptionKey: KEY });
  await db.execute('PRAGMA journal_mode=WAL');
  await db.batch([
    'CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)',
    'CREATE TABLE transfers (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL, note TEXT)',
    'CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)',
    'INSERT INTO accounts VALUES (1, 500), (2, 500)',
    "INSERT INTO counters VALUES ('transfers', 0)",
  ]);
  db.close();
  await fs.writeFile(`${file}.salt`, randomBytes(16));
}

const snapshotInto = async (home: string, file: string, staging: string, warnings: string[] = []) => {
  await fs.mkdir(staging, { recursive: true });
  return libsqlAdapter.snapshot({ home, location: file, staging, allowLive: false, libsqlKey: KEY, warn: (c) => void warnings.push(c) });
};

test('hot snapshots under a live writer are consistent, byte-layout copies, and writers go on', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'aico.db');
  await makeBank(file);
  await startWriter('libsql-writer.mjs', [file, KEY]);
  const seen: number[] = [];
  for (let round = 0; round < 3; round++) {
    const staging = path.join(dir, `staging-${round}`);
    const snap = await snapshotInto(dir, file, staging);
    assert.equal(snap.stats.consistent, true);
    assert.equal(snap.stats.method, 'wal-checkpoint+immediate-copy');
    assert.equal(typeof snap.stats.writer_block_ms, 'number');
    assert.deepEqual(snap.files.map((f) => f.relPath).filter((p) => !p.endsWith('-wal')), ['aico.db', 'aico.db.salt']);
    // The copy opens with the real engine, passes integrity_check, and its invariants hold.
    const copy = createClient({ url: `file:${path.join(staging, 'aico.db')}`, encryptionKey: KEY });
    const sum = Number((await copy.execute('SELECT sum(balance) AS s FROM accounts')).rows[0]!.s);
    const logs = Number((await copy.execute('SELECT count(*) AS n FROM transfers')).rows[0]!.n);
    const counted = Number((await copy.execute("SELECT value FROM counters WHERE name = 'transfers'")).rows[0]!.value);
    copy.close();
    assert.equal(sum, 1000, 'money is neither created nor lost');
    assert.equal(logs, counted, 'one log row per transfer');
    assert.ok(logs > 0);
    assert.equal(snap.stats.tables?.transfers, logs, 'metadata counts are the copy’s counts');
    seen.push(logs);
  }
  assert.ok(seen[2]! > seen[0]!, `the writer kept committing between snapshots (${seen.join(', ')})`);
  // No plaintext in the copied file: it stays encrypted.
  const bytes = await fs.readFile(path.join(dir, 'staging-0', 'aico.db'));
  assert.ok(!bytes.includes(Buffer.from('x'.repeat(50))), 'rows are not readable in the copy');
});

test('validate catches a truncated or overwritten copy, and a wrong key', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'aico.db');
  await makeBank(file);
  const db = createClient({ url: `file:${file}`, encryptionKey: KEY });
  for (let i = 0; i < 30; i++) await db.execute({ sql: 'INSERT INTO transfers (amount, note) VALUES (?, ?)', args: [i, 'z'.repeat(3000)] });
  db.close();
  const snap = await snapshotInto(dir, file, path.join(dir, 'staging'));
  const copy = snap.files[0]!.absPath;
  assert.equal((await libsqlAdapter.validate(copy, { libsqlKey: KEY })).ok, true);
  assert.equal((await libsqlAdapter.validate(copy, { libsqlKey: 'wrong' })).ok, false);

  const truncated = path.join(dir, 'truncated.db');
  const original = await fs.readFile(copy);
  await fs.writeFile(truncated, original.subarray(0, Math.floor(original.length / 2 / 4096) * 4096));
  const t = await libsqlAdapter.validate(truncated, { libsqlKey: KEY });
  assert.equal(t.ok, false);
  assert.ok(t.problems.length > 0);

  const overwritten = path.join(dir, 'overwritten.db');
  const damaged = Buffer.from(original);
  randomBytes(4096).copy(damaged, Math.floor(original.length / 4096 / 2) * 4096);
  await fs.writeFile(overwritten, damaged);
  const o = await libsqlAdapter.validate(overwritten, { libsqlKey: KEY });
  assert.equal(o.ok, false, JSON.stringify(o));
});
