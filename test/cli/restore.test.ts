import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { seedSample } from '../../src/engine/index.js';
import { runCli, tempDir, treeHashes } from '../helpers.js';

const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * Hashes of the files of one unit of a home, keyed by path: its data, so not SQLite's -shm (an index of the WAL)
 * and not an empty -wal. The seeding's libSQL connection in this process goes only when it is garbage collected,
 * and while it lives the seeded home has both; whether they are there when the home is hashed is timing.
 */
const dataOf = (hashes: Record<string, string>) => Object.fromEntries(Object.entries(hashes).filter(([p, h]) => !p.endsWith('-shm') && !(p.endsWith('-wal') && h === EMPTY)));

function unit(hashes: Record<string, string>, name: string): Record<string, string> {
  const prefix = { libsql: 'data/aico.db', chromadb: 'data/memory/semantic/', working: 'data/memory/working/', config: 'config/' }[name]!;
  return Object.fromEntries(Object.entries(dataOf(hashes)).filter(([p]) => p.startsWith(prefix)));
}

describe('aico backup restore with a seeded home (real libSQL, Chroma, LMDB)', () => {
  const dir = tempDir('aico-restore-');
  const home = path.join(dir, 'home');
  const backups = path.join(dir, 'backups');
  let env: Record<string, string | undefined>;
  let archive = '';
  let original: Record<string, string> = {};
  const copyHome = async (name: string) => {
    const to = path.join(dir, name);
    await fs.cp(home, to, { recursive: true });
    return to;
  };
  const restore = (target: string, args: string[] = [], extraEnv: Record<string, string | undefined> = {}) =>
    runCli(['--home', target, '--json', 'backup', 'restore', archive, '-o', path.join(dir, 'safety'), ...args], { env: { ...env, ...extraEnv } });

  before(async () => {
    const seeded = await seedSample({ home, sizeMb: 4, seed: 21 });
    env = { AICO_MASTER_KEY: seeded.masterKey, AICO_BACKUP_PASSWORD: 'restore test pw', DBUS_SESSION_BUS_ADDRESS: undefined, XDG_STATE_HOME: path.join(dir, 'state') };
    const r = await runCli(['--home', home, '--json', 'backup', 'create', '-o', backups], { env });
    assert.equal(r.code, 0, r.stderr);
    archive = r.json.backup.path;
    original = await treeHashes(home);
  });

  test('disaster recovery: wipe the home, restore, every database validates with the backed-up counts', async () => {
    const target = await copyHome('disaster');
    await fs.rm(path.join(target, 'data'), { recursive: true });
    // The master key comes from the backup itself: no AICO_MASTER_KEY on the new machine.
    const r = await restore(target, [], { AICO_MASTER_KEY: undefined });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.master_key.source, 'archive');
    const byName = Object.fromEntries(r.json.databases.map((d: any) => [d.name, d]));
    assert.deepEqual(Object.keys(byName).sort(), ['chromadb', 'config', 'libsql', 'working']);
    for (const name of ['libsql', 'chromadb', 'working']) {
      assert.equal(byName[name].action, 'add');
      assert.equal(byName[name].validation.ok, true, name);
    }
    assert.ok(Object.values(byName.libsql.validation.counts.tables as Record<string, number>).some((n) => n > 100));
    const after = await treeHashes(target);
    // libSQL and Chroma snapshots are byte copies; LMDB's own copy is compacted, so it is checked by counts above.
    for (const name of ['libsql', 'chromadb', 'config']) assert.deepEqual(unit(after, name), unit(original, name), name);
    const audit = (await fs.readFile(path.join(target, 'data', 'logs', 'backup-audit.log'), 'utf8')).trim().split('\n');
    assert.equal(JSON.parse(audit.at(-1)!).result, 'ok');
    assert.equal((await fs.stat(path.join(target, 'data', 'logs', 'backup-audit.log'))).mode & 0o777, 0o600);
  });

  test('partial restore: only the damaged database is replaced, the others stay byte for byte', async () => {
    const target = await copyHome('partial');
    const db = path.join(target, 'data', 'aico.db');
    const bytes = await fs.readFile(db);
    randomBytes(8192).copy(bytes, 8192 * 4);
    await fs.writeFile(db, bytes);
    const before = await treeHashes(target);
    const r = await restore(target, ['--database', 'libsql']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json.databases.map((d: any) => [d.name, d.action]), [['libsql', 'replace']]);
    const after = await treeHashes(target);
    assert.deepEqual(unit(after, 'libsql'), unit(original, 'libsql'), 'libSQL is the backed-up one again');
    for (const name of ['chromadb', 'working', 'config']) assert.deepEqual(unit(after, name), unit(before, name), `${name} untouched`);
    // What was replaced (the damaged file) is kept in a pre-restore backup.
    assert.match(r.json.safety_backup, /-pre-restore\.tar\.zst\.enc$/);
    const listed = await runCli(['--json', 'backup', 'list', path.join(dir, 'safety')]);
    assert.ok(listed.json.backups.some((b: any) => b.path === r.json.safety_backup));
  });

  test('--target into a new directory; a non-empty one needs --force or --merge', async () => {
    const target = path.join(dir, 'elsewhere');
    const r = await restore(home, ['--target', target]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.json.databases.every((d: any) => d.action === 'add'));
    assert.deepEqual(unit(await treeHashes(target), 'libsql'), unit(original, 'libsql'));
    assert.deepEqual(dataOf(await treeHashes(home)), dataOf(original), 'the home itself is untouched');
    const again = await restore(home, ['--target', target]);
    assert.equal(again.code, 2);
    assert.match(again.json.error.message, /not empty/);
  });

  test('--merge adds what is missing and leaves what exists', async () => {
    const target = await copyHome('merge');
    await fs.writeFile(path.join(target, 'config', 'runtime.yaml'), 'runtime:\n  log_level: debug\n');
    await fs.rm(path.join(target, 'config', 'models.yaml'));
    await fs.rm(path.join(target, 'data', 'memory', 'working'), { recursive: true });
    const before = await treeHashes(target);
    const r = await restore(target, ['--merge']);
    assert.equal(r.code, 0, r.stderr);
    const actions = Object.fromEntries(r.json.databases.map((d: any) => [d.name, d]));
    assert.equal(actions.libsql.action, 'skip');
    assert.equal(actions.chromadb.action, 'skip');
    assert.equal(actions.working.action, 'add');
    assert.equal(actions.config.action, 'merge');
    assert.deepEqual(actions.config.skipped.sort(), ['config/runtime.yaml', 'config/user_preferences.json']);
    const after = await treeHashes(target);
    assert.equal(after['config/runtime.yaml'], before['config/runtime.yaml'], 'an existing file is kept');
    assert.equal(after['config/models.yaml'], original['config/models.yaml'], 'a missing file is added');
    assert.deepEqual(unit(after, 'libsql'), unit(before, 'libsql'));
    assert.ok(Object.keys(unit(after, 'working')).length > 0);
  });

  test('--dry-run validates and reports, and changes nothing', async () => {
    const target = await copyHome('dry');
    await fs.rm(path.join(target, 'config', 'models.yaml'));
    const before = await treeHashes(target);
    const r = await restore(target, ['--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.dry_run, true);
    assert.ok(r.json.databases.every((d: any) => d.action === 'replace'));
    assert.ok(r.json.databases.filter((d: any) => d.name !== 'config').every((d: any) => d.validation.ok));
    assert.deepEqual(await treeHashes(target), before);
    assert.deepEqual((await fs.readdir(target)).filter((n) => n.startsWith('.aico')), []);
    assert.equal(r.json.safety_backup, null);
  });

  test('wrong password (exit 3) and a backup without its key (exit 12) leave the target untouched', async () => {
    const target = await copyHome('refused');
    const before = await treeHashes(target);
    const wrong = await restore(target, [], { AICO_BACKUP_PASSWORD: 'not it' });
    assert.equal(wrong.code, 3);
    assert.equal(wrong.json.error.code, 'WRONG_PASSWORD');
    // An unencrypted backup has no encryption_key.enc; without the master key its libSQL copy cannot be opened.
    const plain = await runCli(['--home', home, '--json', 'backup', 'create', '--no-encrypt', '-o', path.join(dir, 'plain')], { env });
    assert.equal(plain.code, 0, plain.stderr);
    const nokey = await runCli(['--home', target, '--json', 'backup', 'restore', plain.json.backup.path, '--no-safety-backup'], {
      env: { ...env, AICO_MASTER_KEY: undefined },
    });
    assert.equal(nokey.code, 12, nokey.stdout);
    assert.equal(nokey.json.error.code, 'DATABASE_INVALID');
    assert.deepEqual(await treeHashes(target), before, 'not even an audit line is written into the home');
    assert.deepEqual((await fs.readdir(target)).filter((n) => n.startsWith('.aico')), []);
    // A failed restore in place does not write into the home it left untouched: its line goes to the state directory.
    const audit = await fs.readFile(path.join(dir, 'state', 'aico-backup', 'backup-audit.log'), 'utf8');
    assert.match(audit, /"result":"failed: WRONG_PASSWORD"/);
  });

  test('AICO running on the target: refused naming the process (exit 11) unless --force', async () => {
    const target = await copyHome('busy');
    const holder = spawn('bash', ['-c', 'exec 3<"$1"; sleep 60', 'x', path.join(target, 'data', 'aico.db')], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const r = await restore(target, ['--database', 'config']);
      assert.equal(r.code, 11);
      assert.equal(r.json.error.code, 'DATABASE_IN_USE');
      assert.match(r.json.error.message, new RegExp(`pid ${holder.pid}`));
      const forced = await restore(target, ['--database', 'config', '--force']);
      assert.equal(forced.code, 0, forced.stderr);
    } finally {
      holder.kill();
    }
  });
});
