import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { Prng } from '../../src/engine/sample/prng.js';
import { seedLmdb } from '../../src/engine/sample/seed-lmdb.js';
import { ROOT, runCli, tempDir } from '../helpers.js';

// AICO writes its working memory with Python's lmdb (LMDB 0.9); the system python3's (Debian
// python3-lmdb, LMDB 0.9.24) stands in for it, writing and reading as AICO does.
const PYTHON = '/usr/bin/python3';
const AICO_LMDB_PY = path.join(ROOT, 'test', 'fixtures', 'writers', 'aico-lmdb.py');
const pyDump = (dir: string) => JSON.parse(execFileSync(PYTHON, [AICO_LMDB_PY, 'dump', dir], { encoding: 'utf8', maxBuffer: 64 << 20 })) as Record<string, Record<string, unknown>>;

test("working memory written by Python's lmdb as AICO writes it backs up, verifies and restores, and reads back in Python's lmdb unchanged", async () => {
  const dir = tempDir();
  const home = path.join(dir, 'home');
  const working = path.join(home, 'data', 'memory', 'working');
  execFileSync(PYTHON, [AICO_LMDB_PY, 'write', working, '400']);
  const original = pyDump(working);
  assert.equal(Object.keys(original.session_memory!).length, 400);
  assert.equal(Object.keys(original.user_sessions!).length, 41);

  const env = { AICO_BACKUP_PASSWORD: 'lmdb interop pw', AICO_MASTER_KEY: undefined, DBUS_SESSION_BUS_ADDRESS: undefined };
  const created = await runCli(['--home', home, '--json', 'backup', 'create', '-o', path.join(dir, 'out'), '--include', 'lmdb'], { env });
  assert.equal(created.code, 0, created.stderr);
  const lmdb = created.json.backup.sources.lmdb;
  assert.equal(lmdb.method, 'lmdb-backup');
  assert.equal(lmdb.encrypted, false);
  assert.equal(lmdb.entries, 441, 'every entry of both named databases');

  const archive = created.json.backup.path;
  const verified = await runCli(['--json', 'backup', 'verify', archive], { env });
  assert.equal(verified.code, 0, verified.stderr);

  const target = path.join(dir, 'restored');
  const restored = await runCli(['--home', target, '--json', 'backup', 'restore', archive, '--no-safety-backup'], { env });
  assert.equal(restored.code, 0, restored.stderr);
  const unit = restored.json.databases.find((u: { name: string }) => u.name === 'working');
  assert.equal(unit.validation.ok, true);
  assert.equal(unit.validation.counts.entries, 441);

  // AICO opens the restored env with its own LMDB and finds every message and session as it was.
  assert.deepEqual(pyDump(path.join(target, 'data', 'memory', 'working')), original);
});

test("the sample seeder's working memory is in the format AICO writes: Python's lmdb reads all of it", async () => {
  const dir = path.join(tempDir(), 'working');
  const entries = await seedLmdb(dir, new Prng(7), 200_000);
  const read = pyDump(dir);
  assert.deepEqual(Object.keys(read).sort(), ['session_memory', 'user_sessions']);
  assert.equal(Object.keys(read.session_memory!).length + Object.keys(read.user_sessions!).length, entries);
  const [key, value] = Object.entries(read.session_memory!)[0]!;
  assert.match(key, /^conv-\d+:\d{4}-\d\d-\d\dT.*Z$/);
  assert.equal(typeof (value as { content: string }).content, 'string');
});
