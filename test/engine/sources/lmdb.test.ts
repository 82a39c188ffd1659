import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { open } from 'lmdb';
import { lmdbAdapter } from '../../../src/engine/sources/lmdb.js';
import { tempDir } from '../../helpers.js';
import { startWriter } from './live-writer.js';

async function snapshotAndCheck(dir: string, env: string, key: string | null, round: number) {
  const staging = path.join(dir, `staging-${round}`);
  await fs.mkdir(staging);
  const snap = await lmdbAdapter.snapshot({ home: dir, location: env, staging, allowLive: false, libsqlKey: null, warn: () => {} });
  assert.deepEqual(snap.files.map((f) => f.relPath), ['data.mdb']);
  assert.equal(snap.stats.consistent, true);
  const copy = open({ path: staging, readOnly: true, ...(key ? { encryptionKey: key } : {}) });
  const counter = copy.get('counter') as number;
  let entries = 0;
  for (const _ of copy.getKeys({ start: 'entry:', end: 'entry;' })) entries++;
  await copy.close();
  assert.ok(counter > 0);
  assert.equal(entries, counter, 'counter == entries: the copy is one transaction’s state');
  assert.equal(snap.stats.entries, entries + 1, 'metadata counts every key (entries + counter)');
  return { snap, counter };
}

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
      await startWriter('lmdb-writer.mjs', key ? [env, key] : [env]);
      const first = await snapshotAndCheck(dir, env, key, 0);
      const second = await snapshotAndCheck(dir, env, key, 1);
      assert.equal(first.snap.stats.method, encrypted ? 'write-txn-copy' : 'lmdb-backup');
      assert.equal(first.snap.stats.encrypted, encrypted);
      assert.ok(second.counter > first.counter, 'the writer went on');
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
