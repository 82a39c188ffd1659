import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAicoError } from '../../../src/engine/errors.js';
import { seedRocksdb } from '../../../src/engine/sample/seed-rocksdb.js';
import { lockHolders, probeLock, rocksdbAdapter } from '../../../src/engine/sources/rocksdb.js';
import type { SnapshotContext } from '../../../src/engine/sources/types.js';
import { tempDir, treeHashes } from '../../helpers.js';

const require = createRequire(import.meta.url);
const rocksdb = require('rocksdb') as (location: string) => any;
const call = <T>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));

const dir = tempDir('aico-rocksdb-');
const working = path.join(dir, 'home', 'data', 'memory', 'working');
const linux = process.platform === 'linux';
let seeded: { entries: number; bytes: number };

function context(location: string, allowLive = false) {
  const warnings: { code: string; message: string }[] = [];
  const ctx: SnapshotContext = {
    home: path.join(dir, 'home'), location, staging: mkdtempSync(path.join(dir, 'staging-')), allowLive, libsqlKey: null,
    warn: (code, message) => warnings.push({ code, message }),
  };
  return { ctx, warnings };
}

/** Every key and value, read without the adapter. */
async function dump(location: string): Promise<string[]> {
  const db = rocksdb(location);
  await call((cb) => db.open({ readOnly: true }, cb));
  const it = db.iterator({ keyAsBuffer: false, valueAsBuffer: false });
  const out: string[] = [];
  for (;;) {
    const [k, v] = await new Promise<[string?, string?]>((res, rej) => it.next((e: Error, k?: string, v?: string) => (e ? rej(e) : res([k, v]))));
    if (k === undefined) break;
    out.push(`${k}=${v}`);
  }
  await call((cb) => it.end(cb));
  await call((cb) => db.close(cb));
  return out;
}

/** A node process that keeps the database open and writes to it, like a running AICO. */
async function startWriter(location: string): Promise<ChildProcess> {
  const script = path.join(dir, 'writer.cjs');
  await fs.writeFile(script, `
const db = require(${JSON.stringify(require.resolve('rocksdb'))})(process.argv[2]); let i = 0;
db.open({ createIfMissing: false }, (err) => {
  if (err) { console.error(err.message); process.exit(1); }
  const step = () => {
    const ops = []; for (let j = 0; j < 20; j++) ops.push({ type: 'put', key: 'message:live:' + String(i++).padStart(8, '0'), value: 'x'.repeat(300) });
    db.batch(ops, (e) => { if (e) { console.error(e.message); process.exit(1); } if (i === 200) console.log('running'); setTimeout(step, 2); });
  };
  step();
});`);
  const child = spawn(process.execPath, [script, location], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('running') && resolve());
    child.on('exit', (code) => reject(new Error(`writer exited (${code}): ${err}`)));
  });
  return child;
}

before(async () => {
  seeded = await seedRocksdb(working, { seed: 7, sessions: 30, messagesPerSession: 80 });
});

test('seed: deterministic working memory spread over several table files', async () => {
  assert.equal(seeded.entries, 30 * 81);
  const names = await fs.readdir(working);
  assert.ok(names.filter((n) => n.endsWith('.sst')).length >= 3, names.join(' '));
  assert.ok(names.some((n) => n.endsWith('.log')), 'recent writes stay in the WAL');
  assert.equal(seeded.bytes, (await Promise.all(names.map((n) => fs.stat(path.join(working, n))))).reduce((s, st) => s + st.size, 0));

  const [a, b, c] = ['a', 'b', 'c'].map((n) => path.join(dir, 'det', n));
  await seedRocksdb(a!, { seed: 3, sessions: 4, messagesPerSession: 6 });
  await seedRocksdb(b!, { seed: 3, sessions: 4, messagesPerSession: 6 });
  await seedRocksdb(c!, { seed: 4, sessions: 4, messagesPerSession: 6 });
  const [da, db, dc] = await Promise.all([dump(a!), dump(b!), dump(c!)]);
  assert.equal(da.length, 4 * 7);
  assert.deepEqual(da, db);
  assert.notDeepEqual(da, dc);
  const session = JSON.parse(da.find((e) => e.startsWith('session:'))!.split('=').slice(1).join('='));
  assert.deepEqual(Object.keys(session).sort(), ['last_active', 'started', 'state', 'user_id']);
  const message = JSON.parse(da.find((e) => /^message:[0-9a-f]+:000001=/.test(e))!.split('=').slice(1).join('='));
  assert.equal(message.role, 'assistant');
  assert.ok(typeof message.text === 'string' && !Number.isNaN(Date.parse(message.ts)));
});

test('detect: RocksDB layout only', async () => {
  assert.equal(await rocksdbAdapter.detect(working), true);
  const other = path.join(dir, 'other');
  await fs.mkdir(other);
  assert.equal(await rocksdbAdapter.detect(other), false);
  await fs.writeFile(path.join(other, 'CURRENT'), 'MANIFEST-000001\n');
  assert.equal(await rocksdbAdapter.detect(other), false);
  await fs.writeFile(path.join(other, 'IDENTITY'), 'x');
  assert.equal(await rocksdbAdapter.detect(other), true);
  assert.equal(await rocksdbAdapter.detect(path.join(dir, 'missing')), false);
  assert.equal(await rocksdbAdapter.detect(path.join(working, 'CURRENT')), false);
});

test('stopped database: exact copy, counted, validated read-only', async () => {
  const source = await treeHashes(working);
  const { ctx, warnings } = context(working);
  const snap = await rocksdbAdapter.snapshot(ctx);
  assert.deepEqual(warnings, []);
  assert.equal(snap.stats.method, 'stopped-copy');
  assert.equal(snap.stats.consistent, true);
  assert.equal(snap.stats.encrypted, false);
  assert.equal(snap.stats.entries, seeded.entries);
  assert.deepEqual(snap.files.map((f) => f.relPath).sort(), Object.keys(source).sort());
  for (const f of snap.files) {
    assert.equal(f.absPath, path.join(ctx.staging, f.relPath));
    assert.equal(f.size, (await fs.stat(f.absPath)).size);
  }
  assert.deepEqual(await treeHashes(ctx.staging), source, 'staged files are byte-identical');
  assert.deepEqual(await treeHashes(working), source, 'taking the snapshot left the source untouched');

  const result = await rocksdbAdapter.validate(ctx.staging, { libsqlKey: null });
  assert.deepEqual(result, { ok: true, counts: { entries: seeded.entries }, problems: [] });
  assert.deepEqual(await treeHashes(ctx.staging), source, 'validation wrote nothing');
});

describe('database open in another process', () => {
  const live = path.join(dir, 'live');
  let writer: ChildProcess;
  before(async () => {
    await fs.cp(working, live, { recursive: true });
    writer = await startWriter(live);
  });
  // Registered here, not inside before(): an after() called from a hook runs as soon as that hook ends.
  after(() => writer?.kill('SIGKILL'));

  test('refused with DATABASE_IN_USE naming the writer', async () => {
    const { ctx } = context(live);
    await assert.rejects(rocksdbAdapter.snapshot(ctx), (e: unknown) => {
      assert.ok(isAicoError(e, 'DATABASE_IN_USE'), String(e));
      assert.match(e.message, new RegExp(`pid ${writer.pid}\\b`));
      assert.deepEqual(e.details?.pids, [writer.pid]);
      assert.equal(e.exitCode, 11);
      return true;
    });
  });

  test('lock checks that need no /proc/<pid>/fd access see it too', async () => {
    const locks = linux ? await fs.readFile('/proc/locks', 'utf8') : '';
    const why = `writer ${writer.pid} alive: ${writer.exitCode === null && writer.signalCode === null}; /proc/locks:\n${locks}`;
    assert.equal(await probeLock(live), true, why);
    if (linux) assert.deepEqual((await lockHolders(live)).map((h) => h.pid), [writer.pid], why);
  });

  test('--allow-live copies anyway, marked inconsistent', async () => {
    const { ctx, warnings } = context(live, true);
    const snap = await rocksdbAdapter.snapshot(ctx);
    assert.equal(snap.stats.consistent, false);
    assert.equal(snap.stats.method, 'live-copy');
    assert.ok(snap.files.some((f) => f.relPath === 'CURRENT'));
    const liveWarning = warnings.find((w) => w.code === 'LIVE_COPY');
    assert.ok(liveWarning, JSON.stringify(warnings));
    assert.match(liveWarning.message, new RegExp(`pid ${writer.pid}\\b`));
  });

  test('once the writer is gone, a consistent copy holds everything it wrote', async () => {
    if (writer.exitCode === null && writer.signalCode === null) {
      const exited = new Promise((resolve) => writer.once('exit', resolve));
      writer.kill('SIGKILL');
      await exited;
    }
    assert.equal(await probeLock(live), false);
    if (linux) assert.deepEqual(await lockHolders(live), []);
    const { ctx } = context(live);
    const snap = await rocksdbAdapter.snapshot(ctx);
    assert.equal(snap.stats.method, 'stopped-copy');
    assert.ok(snap.stats.entries! > seeded.entries, `${snap.stats.entries}`);
    const result = await rocksdbAdapter.validate(ctx.staging, { libsqlKey: null });
    assert.equal(result.ok, true, result.problems.join('; '));
    assert.equal(result.counts.entries, snap.stats.entries);
  });
});

describe('damaged copies', () => {
  let copy: string;
  before(async () => {
    const { ctx } = context(working);
    await rocksdbAdapter.snapshot(ctx);
    copy = ctx.staging;
  });

  async function damaged(name: string, damage: (d: string, names: string[]) => Promise<void>) {
    const d = path.join(dir, 'damaged', name);
    await fs.cp(copy, d, { recursive: true });
    await damage(d, (await fs.readdir(d)).sort());
    const started = Date.now();
    const result = await rocksdbAdapter.validate(d, { libsqlKey: null });
    assert.ok(Date.now() - started < 5000, 'no hang');
    return result;
  }
  const overwrite = async (file: string, at: number, bytes: Buffer) => {
    const h = await fs.open(file, 'r+');
    await h.write(bytes, 0, bytes.length, at);
    await h.close();
  };
  const tables = (names: string[]) => names.filter((n) => n.endsWith('.sst'));

  const cases: [string, (d: string, names: string[]) => Promise<void>, RegExp][] = [
    ['truncated table', async (d, n) => fs.truncate(path.join(d, tables(n)[0]!), 1000), /too short|corrupt/i],
    ['missing table', async (d, n) => fs.rm(path.join(d, tables(n)[1]!)), /No such file/],
    ['missing CURRENT', async (d) => fs.rm(path.join(d, 'CURRENT')), /CURRENT is missing/],
    ['overwritten MANIFEST', async (d, n) => overwrite(path.join(d, n.find((x) => x.startsWith('MANIFEST-'))!), 20, Buffer.alloc(16, 0xab)), /checksum mismatch/],
    ['overwritten compressed block', async (d, n) => overwrite(path.join(d, tables(n)[0]!), 500, Buffer.from('ZZZZZZZZ')), /Corruption/],
  ];
  for (const [name, damage, problem] of cases) {
    test(name, async () => {
      const result = await damaged(name, damage);
      assert.equal(result.ok, false);
      assert.equal(result.problems.length, 1);
      assert.match(result.problems[0]!, problem);
    });
  }

  test('truncated WAL: readable, but fewer entries than recorded at backup', async () => {
    const result = await damaged('truncated wal', async (d, n) => {
      const wal = path.join(d, n.find((x) => x.endsWith('.log'))!);
      await fs.truncate(wal, Math.floor((await fs.stat(wal)).size / 2));
    });
    assert.equal(result.ok, true);
    assert.ok(result.counts.entries! < seeded.entries, `${result.counts.entries}`);
  });

  test('snapshot of an unreadable store still copies it, warns and records no count', async () => {
    const { ctx, warnings } = context(path.join(dir, 'damaged', 'truncated table'));
    const snap = await rocksdbAdapter.snapshot(ctx);
    assert.equal(snap.stats.method, 'stopped-copy');
    assert.equal(snap.stats.entries, undefined);
    assert.ok(snap.files.some((f) => f.relPath === 'CURRENT'));
    assert.deepEqual(warnings.map((w) => w.code), ['DATABASE_UNREADABLE']);
    assert.match(warnings[0]!.message, /too short/);
  });

  test('missing directory', async () => {
    const result = await rocksdbAdapter.validate(path.join(dir, 'nowhere'), { libsqlKey: null });
    assert.equal(result.ok, false);
    assert.match(result.problems[0]!, /does not exist/);
  });
});

test('block checksums are verified, not just decompression', async () => {
  // Uncompressed blocks: overwritten value bytes are still well-formed, so only the checksum tells.
  const d = path.join(dir, 'plain');
  const db = rocksdb(d);
  await call((cb) => db.open({ compression: false }, cb));
  await call((cb) => db.batch(Array.from({ length: 2000 }, (_, i) => ({ type: 'put', key: `k${String(i).padStart(5, '0')}`, value: 'x'.repeat(200) })), cb));
  await call((cb) => db.compactRange('k', 'l', cb)); // flushes the memtable into a table
  await call((cb) => db.close(cb));
  const sst = (await fs.readdir(d)).find((n) => n.endsWith('.sst'))!;
  const bytes = await fs.readFile(path.join(d, sst));
  const at = bytes.indexOf('xxxxxxxxxx', 2000) + 3;
  assert.deepEqual(await rocksdbAdapter.validate(d, { libsqlKey: null }), { ok: true, counts: { entries: 2000 }, problems: [] });
  const h = await fs.open(path.join(d, sst), 'r+');
  await h.write(Buffer.from('ZZZZ'), 0, 4, at);
  await h.close();
  const result = await rocksdbAdapter.validate(d, { libsqlKey: null });
  assert.equal(result.ok, false);
  assert.match(result.problems[0]!, /block checksum mismatch/);
});
