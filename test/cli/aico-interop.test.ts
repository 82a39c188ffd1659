import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openLibsql, scalar } from '../../src/engine/sources/libsql-db.js';
import { ROOT, runCli, tempDir } from '../helpers.js';

/** AICO's derivation, computed by Python's hashlib as AICO's key_manager.py does with `cryptography`. */
function pythonLibsqlKey(masterHex: string, saltFile: string, iterations: number): string {
  const script = `import hashlib,sys
m=bytes.fromhex(sys.argv[1]); salt=open(sys.argv[2],'rb').read()
print(hashlib.pbkdf2_hmac('sha256', m + b'aico-db-libsql', salt, int(sys.argv[3]), 32).hex())`;
  return execFileSync('python3', ['-c', script, masterHex, saltFile, String(iterations)], { encoding: 'utf8' }).trim();
}

test("a database made by AICO's recipe backs up, verifies and restores, validated, and opens again with AICO's raw key", async () => {
  const dir = tempDir();
  const home = path.join(dir, 'home');
  await fs.mkdir(path.join(home, 'data'), { recursive: true });
  await fs.mkdir(path.join(home, 'config'), { recursive: true });
  const masterHex = randomBytes(32).toString('hex');
  const saltFile = path.join(home, 'data', 'aico.db.salt');
  await fs.writeFile(saltFile, randomBytes(16));
  // A user override of the iteration count in AICO's runtime config: the tool must follow it.
  const iterations = 120000;
  await fs.writeFile(path.join(home, 'config', 'runtime.yaml'), `security:\n  encryption:\n    key_derivation:\n      pbkdf2:\n        iterations: ${iterations}\n`);
  const rawKey = pythonLibsqlKey(masterHex, saltFile, iterations);
  const db = path.join(home, 'data', 'aico.db');
  execFileSync(process.execPath, [path.join(ROOT, 'test', 'fixtures', 'writers', 'aico-recipe.mjs'), db, rawKey, '500'], { cwd: ROOT });
  assert.ok((await fs.stat(`${db}-wal`)).size > 0, 'the recipe left its rows in the WAL');

  const env = { AICO_MASTER_KEY: masterHex, AICO_BACKUP_PASSWORD: 'interop pw', DBUS_SESSION_BUS_ADDRESS: undefined };
  const created = await runCli(['--home', home, '--json', 'backup', 'create', '-o', path.join(dir, 'out'), '--include', 'libsql,config'], { env });
  assert.equal(created.code, 0, created.stderr);
  const libsql = created.json.backup.sources.libsql;
  assert.deepEqual(libsql.tables, { logs: 500, users: 1 }, 'the rows still in the WAL are in the backup');
  assert.equal(libsql.kdf_iterations, iterations);
  assert.equal(libsql.encrypted, true);

  const archive = created.json.backup.path;
  const verified = await runCli(['--json', 'backup', 'verify', archive], { env });
  assert.equal(verified.code, 0, verified.stderr);

  // A new machine: no master key but the one inside the backup.
  const target = path.join(dir, 'restored');
  const restored = await runCli(['--home', target, '--json', 'backup', 'restore', archive, '--no-safety-backup'], { env: { ...env, AICO_MASTER_KEY: undefined } });
  assert.equal(restored.code, 0, restored.stderr);
  const unit = restored.json.databases.find((u: { name: string }) => u.name === 'libsql');
  assert.equal(unit.validation.ok, true);
  assert.deepEqual(unit.validation.counts.tables, { logs: 500, users: 1 });

  // AICO opens the restored file with the key it derives itself.
  const reopened = openLibsql(path.join(target, 'data', 'aico.db'), rawKey);
  try {
    assert.equal(Number(scalar(reopened, 'SELECT count(*) FROM logs')), 500);
    assert.equal(scalar(reopened, "SELECT message FROM logs WHERE id = 500"), 'message 499 from the recipe');
  } finally {
    reopened.close();
  }
  // And a wrong master key is told apart from a damaged database.
  const wrong = await runCli(['--home', home, '--json', 'backup', 'create', '-o', path.join(dir, 'out2'), '--include', 'libsql'], {
    env: { ...env, AICO_MASTER_KEY: randomBytes(32).toString('hex') },
  });
  assert.equal(wrong.code, 12);
  assert.match(wrong.json?.error?.message ?? wrong.stderr, /cannot be opened with the database key/);
});
