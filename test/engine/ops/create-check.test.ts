import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { create } from '../../../src/engine/index.js';
import { column } from '../../../src/engine/sources/libsql-db.js';
import { aicoConnect, randomLibsqlKey } from '../sources/aico-libsql.js';
import { loadLmdb } from '../../../src/engine/sources/lmdb-native.js';
import { tempDir } from '../../helpers.js';

// The integrity check of a libSQL snapshot runs in a child beside the archive writer (it reads every
// page); these databases open and count fine, so only that check can stop the backup.
test('a libSQL snapshot that opens but fails its integrity check leaves no backup behind', async () => {
  const dir = tempDir();
  const home = path.join(dir, 'home');
  const out = path.join(dir, 'out');
  const key = randomLibsqlKey();
  await fs.mkdir(path.join(home, 'data'), { recursive: true });
  await fs.mkdir(path.join(home, 'config'), { recursive: true });
  await fs.writeFile(path.join(home, 'config', 'core.yaml'), 'core: {}\n');
  const file = path.join(home, 'data', 'aico.db');
  const db = aicoConnect(file, key, true);
  db.exec('CREATE TABLE logs (id INTEGER PRIMARY KEY, level INTEGER, message TEXT); CREATE INDEX logs_level ON logs(level);');
  db.exec('BEGIN');
  const insert = db.prepare('INSERT INTO logs (level, message) VALUES (?, ?)');
  for (let i = 0; i < 3000; i++) insert.run(i % 5, `message ${i} `.repeat(8));
  db.exec('COMMIT');
  // The index now claims to be on another column than the one its entries were built from.
  db.exec("PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = 'CREATE INDEX logs_level ON logs(message)' WHERE name = 'logs_level'; PRAGMA writable_schema = OFF;");
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  db.close();
  await fs.writeFile(`${file}.salt`, Buffer.alloc(16, 7));
  const before = await fs.readFile(file);

  const events: string[] = [];
  await assert.rejects(
    create(
      {
        home,
        outputDir: out,
        encrypt: true,
        password: async () => Buffer.from('pw'),
        compression: 'zstd',
        compressionLevel: 3,
        include: ['libsql', 'config'],
        exclude: [],
        kdfIterations: 1000,
        env: { AICO_LIBSQL_KEY: key },
      },
      { onEvent: (e) => events.push(e.type === 'phase' ? `phase:${e.phase}` : e.type) },
    ),
    (e: any) => {
      assert.equal(e.code, 'DATABASE_INVALID', e.message);
      assert.match(e.message, /snapshot of libsql does not validate: integrity_check: .*missing from index logs_level/);
      assert.match(e.hint, /no backup was written/);
      return true;
    },
  );
  assert.ok(events.includes('phase:archive'), 'the archive was being written while the check ran');
  assert.deepEqual(await fs.readdir(out), [], 'no archive, partial file, staging directory or lock left');
  assert.deepEqual(await fs.readFile(file), before, 'the live database is untouched');
  const live = aicoConnect(file, key);
  assert.notDeepEqual(column(live, 'PRAGMA integrity_check'), ['ok']);
  live.close();
});

// LMDB's snapshot records the entries its b-tree headers state; reading every entry (what finds a
// damaged page) runs beside the archive writer, so only that read can stop this backup.
test('an LMDB snapshot whose pages are damaged but whose counts read fine leaves no backup behind', async () => {
  const dir = tempDir();
  const home = path.join(dir, 'home');
  const out = path.join(dir, 'out');
  const working = path.join(home, 'data', 'memory', 'working');
  await fs.mkdir(working, { recursive: true });
  await fs.mkdir(path.join(home, 'config'), { recursive: true });
  await fs.writeFile(path.join(home, 'config', 'core.yaml'), 'core: {}\n');
  const { open } = await loadLmdb();
  const env = open({ path: working, maxDbs: 3 });
  const messages = env.openDB({ name: 'session_memory' });
  await env.transaction(() => {
    for (let i = 0; i < 20_000; i++) messages.put(`conv-${i % 50}:${String(i).padStart(6, '0')}`, { role: 'user', text: `message ${i} `.repeat(6) });
  });
  await env.close();
  // Leaf pages in the middle of the file (pages 0 and 1 are the metas; the b-tree roots sit at the end).
  const file = path.join(working, 'data.mdb');
  const handle = await fs.open(file, 'r+');
  await handle.write(Buffer.alloc(64 * 4096, 0xa5), 0, 64 * 4096, 200 * 4096);
  await handle.close();
  const before = await fs.readFile(file);

  await assert.rejects(
    create({
      home,
      outputDir: out,
      encrypt: false,
      compression: 'zstd',
      compressionLevel: 3,
      include: ['working', 'config'],
      exclude: [],
    }),
    (e: any) => {
      assert.equal(e.code, 'DATABASE_INVALID', e.message);
      assert.match(e.message, /snapshot of lmdb does not validate: .*(data\.mdb|LMDB crashed)/);
      return true;
    },
  );
  assert.deepEqual(await fs.readdir(out), [], 'no archive, partial file, staging directory or lock left');
  assert.deepEqual(await fs.readFile(file), before, 'the live store is untouched');
});
