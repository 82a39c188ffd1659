import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { open } from 'lmdb';
import { runSiblingChild } from '../../../src/engine/proc/sibling.js';
import { lmdbAdapter } from '../../../src/engine/sources/lmdb.js';
import { tempDir } from '../../helpers.js';
import { startWriter } from './live-writer.js';

/** The writer's counter and its number of entry:* keys; equal in any state the writer committed. */
async function countsOf(location: string, key: string | null) {
  const db = open({ path: location, readOnly: true, ...(key ? { encryptionKey: key } : {}) });
  const counter = db.get('counter') as number;
  let entries = 0;
  for (const _ of db.getKeys({ start: 'entry:', end: 'entry;' })) entries++;
  await db.close();
  return { counter, entries };
}

async function snapshotOf(dir: string, env: string, round: number) {
  const staging = path.join(dir, `staging-${round}`);
  await fs.mkdir(staging);
  const snap = await lmdbAdapter.snapshot({ home: dir, location: env, staging, allowLive: false, libsqlKey: null, warn: () => {} });
  assert.deepEqual(snap.files.map((f) => f.relPath), ['data.mdb']);
  assert.equal(snap.stats.consistent, true);
  return { snap, staging };
}

/** Stops the writer and waits until it is gone, so the live env can be read as it was left. */
async function stop(writer: ChildProcess) {
  if (writer.exitCode === null && writer.signalCode === null) {
    const gone = once(writer, 'exit');
    writer.kill('SIGKILL');
    await gone;
  }
}

// A commit lost by the live store itself (not by the copy) is lmdb-js's bug, see the test below:
// the copies are then faithful copies of a store whose counter ran ahead of its entries.
const LIVE_LOSS =
  'the live store itself lost commits of the writer (counter ahead of entries after the writer stopped): ' +
  "an open of the env raced one of the writer's commits (lmdb-js's LMDB lacks upstream fix ITS#9496), the copies are not at fault";

for (const encrypted of [false, true]) {
  test(`${encrypted ? 'encrypted' : 'plain'} env: snapshots under a live writer are consistent`, async () => {
    const dir = tempDir();
    const env = path.join(dir, 'working');
    const key = encrypted ? randomBytes(16).toString('hex') : null;
    const saved = process.env.AICO_LMDB_KEY;
    if (key) process.env.AICO_LMDB_KEY = key;
    try {
      const db = open({ path: env, ...(key ? { encryptionKey: key } : {}) });
      await db.put('counter', 0);
      await db.close();
      const writer = await startWriter('lmdb-writer.mjs', key ? [env, key] : [env]);
      const first = await snapshotOf(dir, env, 0);
      const second = await snapshotOf(dir, env, 1);
      await stop(writer);
      const live = await countsOf(env, key);
      assert.equal(live.entries, live.counter, `${LIVE_LOSS} (counter ${live.counter}, entries ${live.entries})`);
      const copies: Array<{ counter: number; entries: number }> = [];
      for (const { snap, staging } of [first, second]) {
        const copy = await countsOf(staging, key);
        assert.ok(copy.counter > 0);
        assert.equal(copy.entries, copy.counter, 'counter == entries: the copy is one transaction’s state');
        assert.equal(snap.stats.entries, copy.entries + 1, 'metadata counts every key (entries + counter)');
        copies.push(copy);
      }
      assert.equal(first.snap.stats.method, encrypted ? 'write-txn-copy' : 'lmdb-backup');
      assert.equal(first.snap.stats.encrypted, encrypted);
      assert.ok(copies[1]!.counter > copies[0]!.counter, 'the writer went on');
    } finally {
      if (saved === undefined) delete process.env.AICO_LMDB_KEY;
      else process.env.AICO_LMDB_KEY = saved;
    }
  });
}

test('validate catches a truncated or overwritten copy without crashing this process', async () => {
  const dir = tempDir();
  const env = path.join(dir, 'env');
  const db = open({ path: env });
  await db.transaction(() => {
    for (let i = 0; i < 3000; i++) db.put(`k${i}`, { i, text: 'v'.repeat(200) });
  });
  await db.close();
  assert.equal((await lmdbAdapter.validate(env, { libsqlKey: null })).ok, true);
  const original = await fs.readFile(path.join(env, 'data.mdb'));

  const truncated = path.join(dir, 'truncated');
  await fs.mkdir(truncated);
  await fs.writeFile(path.join(truncated, 'data.mdb'), original.subarray(0, Math.floor(original.length / 2)));
  const t = await lmdbAdapter.validate(truncated, { libsqlKey: null });
  assert.equal(t.ok, false, JSON.stringify(t));

  const overwritten = path.join(dir, 'overwritten');
  await fs.mkdir(overwritten);
  const damaged = Buffer.from(original);
  for (let page = 4; page < original.length / 4096 - 1; page += 7) randomBytes(4096).copy(damaged, page * 4096);
  await fs.writeFile(path.join(overwritten, 'data.mdb'), damaged);
  const o = await lmdbAdapter.validate(overwritten, { libsqlKey: null });
  assert.equal(o.ok, false, JSON.stringify(o));
});

test('validate reads a store in rounds (reopening the env to drop mapped pages) and counts every entry exactly once', async () => {
  const dir = tempDir();
  const env = path.join(dir, 'env');
  const root = open({ path: env, maxDbs: 8 });
  const a = root.openDB({ name: 'session_memory' });
  const b = root.openDB({ name: 'user_sessions' });
  await root.transaction(() => {
    for (let i = 0; i < 2500; i++) a.put(`s${String(i).padStart(5, '0')}`, { i, text: 'x'.repeat(300) });
    for (let i = 0; i < 700; i++) b.put(`u${i}`, { i });
  });
  await root.close();
  const read = (residentBudget?: number) =>
    runSiblingChild(new URL('../../../src/engine/sources/lmdb.ts', import.meta.url).href, 'lmdb-child', { path: env, key: null, ...(residentBudget ? { residentBudget } : {}) });
  const whole = await read();
  const rounds = await read(8192);
  assert.ok('reply' in whole && 'reply' in rounds, JSON.stringify({ whole, rounds }));
  const w = whole.reply as Record<string, unknown>;
  const r = rounds.reply as Record<string, unknown>;
  assert.equal(w.rounds, 1, 'this store is far below the default budget');
  assert.ok((r.rounds as number) > 50, `read in ${String(r.rounds)} rounds`);
  assert.deepEqual(w.databases, { session_memory: 2500, user_sessions: 700 });
  assert.deepEqual(r.databases, w.databases, 'no entry skipped or counted twice across rounds');
  assert.equal(r.ok, true);
  assert.equal(r.entries, 3200);
});

// lmdb-js (3.5.6, and its master) bundles LMDB's development branch of May 2020, whose
// mdb_env_open stores the txnid of the meta page it read into the shared lock region without the
// write lock. If another process commits in between, the lock region goes back one txn, and that
// writer's next transaction starts from the previous meta page and overwrites the commit: it is
// lost. LMDB's development branch fixed this in April 2021 (ITS#9496: only a MDB_PREVSNAPSHOT open
// stores it); the 0.9 releases never had the bug. Every snapshot opens the live env once, so a
// create can make a running writer lose a commit. Rebuilding lmdb-js's LMDB with that
// fix makes this pass (read-write opens for 5 x 2 s under the writer: 41 commits lost in 5,410 opens
// with the stock build, none in 4,557 with the fixed one).
test('opening the env while another process commits loses none of its commits', { todo: 'lmdb-js lacks LMDB ITS#9496' }, async () => {
  const dir = tempDir();
  const env = path.join(dir, 'working');
  const db = open({ path: env });
  await db.put('counter', 0);
  await db.close();
  const writer = await startWriter('lmdb-writer.mjs', [env]);
  // The opens the snapshot makes (read-write, as lmdbAdapter.snapshot opens the live env).
  for (const end = Date.now() + 1500; Date.now() < end; ) await open({ path: env }).close();
  await stop(writer);
  const live = await countsOf(env, null);
  assert.equal(live.entries, live.counter, `lost ${live.counter - live.entries} commit(s)`);
});
