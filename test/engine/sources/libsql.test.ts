import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { libsqlAdapter } from '../../../src/engine/sources/libsql.js';
import { tempDir } from '../../helpers.js';
import { aicoConnect, bankState, makeBank, randomLibsqlKey } from './aico-libsql.js';
import { startWriter, writerReport } from './live-writer.js';

const KEY = randomLibsqlKey();

const snapshotInto = async (home: string, file: string, staging: string, onReadSnapshotHeld?: () => Promise<void>) => {
  await fs.mkdir(staging, { recursive: true });
  return libsqlAdapter.snapshot({ home, location: file, staging, allowLive: false, libsqlKey: KEY, warn: () => {}, onReadSnapshotHeld });
};

test('hot snapshots under a live writer are consistent, self-contained, encrypted copies, and the writer commits while the snapshot is held', async (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'aico.db');
  await makeBank(file, KEY);
  const writer = await startWriter('libsql-writer.mjs', [file, KEY]);
  const seen: number[] = [];
  for (let round = 0; round < 3; round++) {
    const staging = path.join(dir, `staging-${round}`);
    let during = { commits: 0, longest_ms: 0 };
    const snap = await snapshotInto(dir, file, staging, async () => {
      // The read snapshot is held now: writers must go on committing.
      const before = await writerReport(writer);
      while ((during = await writerReport(writer)).commits < before.commits + 20) await new Promise((r) => setTimeout(r, 20));
    });
    t.diagnostic(`round ${round}: ${snap.stats.read_snapshot_ms} ms read snapshot; the writer's longest commit meanwhile ${during.longest_ms.toFixed(1)} ms`);
    assert.equal(snap.stats.consistent, true);
    assert.equal(snap.stats.method, 'wal-read-snapshot');
    assert.equal(snap.stats.writer_block_ms, 0);
    assert.deepEqual(snap.files.map((f) => f.relPath), ['aico.db', 'aico.db.salt'], 'the WAL is folded into the copy');
    assert.deepEqual((await fs.readdir(staging)).sort(), ['aico.db', 'aico.db.salt']);
    const state = bankState(path.join(staging, 'aico.db'), KEY);
    assert.equal(state.sum, 1000, 'money is neither created nor lost');
    assert.equal(state.transfers, state.counted, 'one log row per transfer');
    assert.equal(snap.stats.tables?.transfers, state.transfers, 'metadata counts are the copy’s counts');
    seen.push(state.transfers);
  }
  assert.ok(seen[2]! > seen[0]!, `the writer kept committing between snapshots (${seen.join(', ')})`);
  const bytes = await fs.readFile(path.join(dir, 'staging-0', 'aico.db'));
  assert.ok(!bytes.includes(Buffer.from('x'.repeat(50))), 'rows are not readable in the copy');
  assert.ok(!bytes.subarray(0, 16).equals(Buffer.from('SQLite format 3\0')), 'page 1 is encrypted too');
});

test('a reader holding a transaction open (as AICO does) neither fails nor delays the snapshot, and a writer is not stalled', async (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'aico.db');
  await makeBank(file, KEY);
  const writer = await startWriter('libsql-writer.mjs', [file, KEY]);
  // The reader pins an old WAL mark for the whole test; the old checkpoint-based snapshot waited 30 s on it and failed.
  await startWriter('libsql-reader.mjs', [file, KEY], 'holding');
  await writerReport(writer);
  const snap = await snapshotInto(dir, file, path.join(dir, 'staging'));
  const during = await writerReport(writer);
  t.diagnostic(`snapshot ${snap.stats.snapshot_ms} ms with a reader held open; the writer's longest commit meanwhile ${during.longest_ms.toFixed(1)} ms over ${during.commits} commits`);
  assert.equal(snap.stats.writer_block_ms, 0);
  const state = bankState(path.join(dir, 'staging', 'aico.db'), KEY);
  assert.equal(state.sum, 1000);
  assert.equal(state.transfers, state.counted);
});

test('a database in rollback-journal mode is copied under a read lock, and the time writers were held back is reported', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'aico.db');
  await makeBank(file, KEY, 'delete');
  const snap = await snapshotInto(dir, file, path.join(dir, 'staging'));
  assert.equal(snap.stats.method, 'read-lock-copy');
  assert.equal(snap.stats.writer_block_ms, snap.stats.read_snapshot_ms);
  assert.equal(bankState(path.join(dir, 'staging', 'aico.db'), KEY).sum, 1000);
});

test('validate catches a truncated or overwritten copy, a wrong key and a missing file (without creating it)', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'aico.db');
  await makeBank(file, KEY);
  const db = aicoConnect(file, KEY);
  const insert = db.prepare('INSERT INTO transfers (amount, note) VALUES (?, ?)');
  for (let i = 0; i < 30; i++) insert.run(i, 'z'.repeat(3000));
  db.close();
  const snap = await snapshotInto(dir, file, path.join(dir, 'staging'));
  const copy = snap.files[0]!.absPath;
  assert.equal((await libsqlAdapter.validate(copy, { libsqlKey: KEY })).ok, true);
  const wrong = await libsqlAdapter.validate(copy, { libsqlKey: randomLibsqlKey() });
  assert.equal(wrong.ok, false);
  assert.match(wrong.problems.join(), /cannot be opened with the database key/);

  const missing = path.join(dir, 'missing.db');
  assert.equal((await libsqlAdapter.validate(missing, { libsqlKey: KEY })).ok, false);
  await assert.rejects(fs.stat(missing), 'validating a missing file does not create it');

  const truncated = path.join(dir, 'truncated.db');
  const original = await fs.readFile(copy);
  await fs.writeFile(truncated, original.subarray(0, Math.floor(original.length / 2 / 4096) * 4096));
  const tr = await libsqlAdapter.validate(truncated, { libsqlKey: KEY });
  assert.equal(tr.ok, false);
  assert.ok(tr.problems.length > 0);

  const overwritten = path.join(dir, 'overwritten.db');
  const damaged = Buffer.from(original);
  randomBytes(4096).copy(damaged, Math.floor(original.length / 4096 / 2) * 4096);
  await fs.writeFile(overwritten, damaged);
  const o = await libsqlAdapter.validate(overwritten, { libsqlKey: KEY });
  assert.equal(o.ok, false, JSON.stringify(o));
});
