import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { open } from 'lmdb';
import type { Metadata } from '../../../src/engine/archive/metadata.js';
import type { AicoError } from '../../../src/engine/errors.js';
import { UnitValidations } from '../../../src/engine/restore/validate.js';
import { lmdbAdapter, readEveryEntry } from '../../../src/engine/sources/lmdb.js';
import { ROOT, runCli, tempDir } from '../../helpers.js';
import { startWriter } from './live-writer.js';

/** The system python3 (Debian's python3-lmdb), not whatever python3 comes first on PATH. */
const PYTHON = '/usr/bin/python3';
const AICO_LMDB_PY = path.join(ROOT, 'test', 'fixtures', 'writers', 'aico-lmdb.py');

/** The writer's counter and its number of entry:* keys; equal in any state the writer committed. */
async function countsOf(location: string, dbName?: string) {
  const root = open({ path: location, readOnly: true, maxDbs: 4 });
  // The Python writer keeps both in AICO's session_memory, as UTF-8 bytes.
  const db = dbName ? root.openDB({ name: dbName, encoding: 'binary', keyEncoding: 'binary' } as never) : root;
  const raw = db.get(dbName ? Buffer.from('counter') : 'counter') as number | Buffer;
  const counter = typeof raw === 'number' ? raw : Number(Buffer.from(raw).toString('utf8'));
  let entries = 0;
  for (const _ of db.getKeys(dbName ? { start: Buffer.from('entry:'), end: Buffer.from('entry;') } : { start: 'entry:', end: 'entry;' })) entries++;
  await root.close();
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

/** AICO's own writer: Python's lmdb (LMDB 0.9), one write transaction per put into session_memory. */
async function startPythonWriter(env: string): Promise<ChildProcess> {
  const child = spawn(PYTHON, [AICO_LMDB_PY, 'live', env], { stdio: ['ignore', 'pipe', 'pipe'] });
  after(() => child.kill('SIGKILL'));
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('running') && resolve());
    child.on('exit', (code) => reject(new Error(`python writer exited (${code}): ${err}`)));
  });
  return child;
}

// A commit lost by the live store itself (not by the copy): what lmdb-js's prebuilt LMDB did (it lacks
// upstream fix ITS#9496, see the last test); the copies are then faithful copies of a store whose
// counter ran ahead of its entries.
const LIVE_LOSS =
  'the live store itself lost commits of the writer (counter ahead of entries after the writer stopped): ' +
  "an open of the env raced one of the writer's commits (is lmdb's native module LMDB 0.9? see lmdb-native.ts), the copies are not at fault";

for (const writerKind of ['lmdb-js', 'python'] as const) {
  test(`env written by ${writerKind === 'python' ? "Python's lmdb (as AICO writes it)" : 'lmdb-js'}: snapshots under a live writer are consistent`, async () => {
    const dir = tempDir();
    const env = path.join(dir, 'working');
    const dbName = writerKind === 'python' ? 'session_memory' : undefined;
    let writer: ChildProcess;
    if (writerKind === 'python') {
      writer = await startPythonWriter(env);
    } else {
      const db = open({ path: env });
      await db.put('counter', 0);
      await db.close();
      writer = await startWriter('lmdb-writer.mjs', [env]);
    }
    const first = await snapshotOf(dir, env, 0);
    const second = await snapshotOf(dir, env, 1);
    await stop(writer);
    const live = await countsOf(env, dbName);
    assert.equal(live.entries, live.counter, `${LIVE_LOSS} (counter ${live.counter}, entries ${live.entries})`);
    const copies: Array<{ counter: number; entries: number }> = [];
    for (const { snap, staging } of [first, second]) {
      const copy = await countsOf(staging, dbName);
      assert.ok(copy.counter > 0);
      assert.equal(copy.entries, copy.counter, 'counter == entries: the copy is one transaction’s state');
      assert.equal(snap.stats.entries, copy.entries + 1, 'metadata counts every key (entries + counter)');
      copies.push(copy);
    }
    assert.equal(first.snap.stats.method, 'lmdb-backup');
    assert.equal(first.snap.stats.encrypted, false);
    assert.ok(copies[1]!.counter > copies[0]!.counter, 'the writer went on');
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

test('validate reads a store in rounds (one child process each, so the pages each read are unmapped) and counts every entry exactly once', async () => {
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
  const whole = await readEveryEntry(env);
  // A budget that splits the store into a dozen rounds, most of them inside session_memory (each round is a child process).
  const rounds = await readEveryEntry(env, undefined, 65536);
  assert.ok('reply' in whole && 'reply' in rounds, JSON.stringify({ whole, rounds }));
  const w = whole.reply;
  const r = rounds.reply;
  assert.equal(w.rounds, 1, 'this store is far below the default budget');
  assert.ok(r.rounds > 5, `read in ${r.rounds} rounds`);
  assert.deepEqual(w.databases, { session_memory: 2500, user_sessions: 700 });
  assert.deepEqual(r.databases, w.databases, 'no entry skipped or counted twice across rounds');
  assert.equal(r.stated, 3200, 'each sub-database stated once');
  assert.equal(r.ok, true);
  assert.equal(r.entries, 3200);
});

// lmdb-js (3.5.6, and its master) ships prebuilt LMDB's development branch of May 2020, whose
// mdb_env_open stores the txnid of the meta page it read into the shared lock region without the
// write lock. If another process commits in between, the lock region goes back one txn, and that
// writer's next transaction starts from the previous meta page and overwrites the commit: it is
// lost. LMDB's development branch fixed this in April 2021 (ITS#9496); the 0.9 releases never had
// the bug (0.9.29's mdb_env_open2 does not touch mti_txnid). With the prebuilt module this lost
// 41 commits in 5,410 read-write opens (5 x 2 s) and failed in its first run; the engine now loads
// lmdb-js built with LMDB 0.9.29 (scripts/build-lmdb.mjs), so every snapshot's open is safe.
test('opening the env while another process commits loses none of its commits', async () => {
  const dir = tempDir();
  const env = path.join(dir, 'working');
  const db = open({ path: env });
  await db.put('counter', 0);
  await db.close();
  const writer = await startWriter('lmdb-writer.mjs', [env]);
  // The opens the snapshot makes (read-write, as lmdbAdapter.snapshot opens the live env).
  let opens = 0;
  for (const end = Date.now() + 1500; Date.now() < end; opens++) await open({ path: env }).close();
  await stop(writer);
  const live = await countsOf(env);
  assert.ok(opens > 100, `${opens} opens`);
  assert.ok(live.counter > 20, 'the writer committed meanwhile');
  assert.equal(live.entries, live.counter, `lost ${live.counter - live.entries} commit(s) in ${opens} opens`);
});

test("the engine refuses lmdb's prebuilt module (LMDB's development format) with a typed error, before it opens anything", async () => {
  const dir = tempDir();
  const home = path.join(dir, 'home');
  const working = path.join(home, 'data', 'memory', 'working');
  execFileSync(PYTHON, [AICO_LMDB_PY, 'write', working, '20']);
  const before = await fs.readFile(path.join(working, 'data.mdb'));
  // PREBUILDS_ONLY makes lmdb-js skip build/Release and load the prebuilt @lmdb/lmdb-<platform> module.
  const r = await runCli(['--home', home, '--json', 'backup', 'create', '--no-encrypt', '-o', path.join(dir, 'out'), '--include', 'lmdb'], {
    env: { PREBUILDS_ONLY: '1', AICO_MASTER_KEY: undefined, DBUS_SESSION_BUS_ADDRESS: undefined },
  });
  assert.equal(r.code, 12, r.stderr);
  assert.equal(r.json.error.code, 'DATABASE_INVALID');
  assert.match(r.json.error.message, /development branch with data format 2/);
  assert.match(r.json.error.hint, /npm run build:lmdb/);
  assert.deepEqual(await fs.readFile(path.join(working, 'data.mdb')), before, 'the env is untouched');
});

test('restoring an archive whose metadata says its LMDB is encrypted (aico-backup 0.1, AICO_LMDB_KEY) fails with a clear message', async () => {
  const dir = tempDir();
  const staging = path.join(dir, 'staging');
  // What such an archive stages: a data.mdb this LMDB cannot read (encrypted pages).
  await fs.mkdir(path.join(staging, 'data', 'memory', 'working'), { recursive: true });
  await fs.writeFile(path.join(staging, 'data', 'memory', 'working', 'data.mdb'), randomBytes(16384));
  const metadata = { databases: { lmdb: { kind: 'database', archive_path: 'databases/working/', size_bytes: 16384, files: 1, encrypted: true, consistent: true, method: 'write-txn-copy', entries: 3 } } } as unknown as Metadata;
  await assert.rejects(new UnitValidations({ staging, units: ['working'], metadata, libsqlKey: async () => null }).finish(), (error: AicoError) => {
    assert.equal(error.code, 'DATABASE_INVALID');
    assert.match(error.message, /LMDB working memory in this backup is encrypted .*Nothing was restored/);
    assert.match(error.hint ?? '', /--database/);
    return true;
  });
});
