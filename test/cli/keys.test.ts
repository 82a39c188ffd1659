import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { ArchiveReader } from '../../src/engine/archive/reader.js';
import { readKeyEntry } from '../../src/engine/archive/key-entry.js';
import { Keyring, MASTER_KEY_ACCOUNT } from '../../src/engine/keys/keyring.js';
import { importMasterKey } from '../../src/engine/ops/keys.js';
import { seedFiles } from '../../src/engine/index.js';
import { startSecretService } from '../secret-service.js';
import { runCli, tempDir } from '../helpers.js';

describe('keys and passwords through the CLI, with a real Secret Service', async () => {
  const ss = await startSecretService();
  const env = { ...process.env, ...ss.env, AICO_MASTER_KEY: undefined, AICO_BACKUP_PASSWORD: undefined };
  const keyring = new Keyring(env as NodeJS.ProcessEnv);
  const dir = tempDir();
  const home = path.join(dir, 'home');
  const out = path.join(dir, 'backups');
  const masterKey = Buffer.from(randomBytes(32).toString('hex'));
  const password = 'backup password for the key tests';
  const cli = (args: string[], input?: string) =>
    runCli(['--home', home, '--json', ...args, ...(args[1] === 'create' ? ['--include', 'models,config'] : [])], { env: ss.env, input });

  before(async () => {
    await seedFiles({ home, sizeMb: 2 });
    await keyring.set(MASTER_KEY_ACCOUNT, masterKey);
  });

  let archive = '';
  test('create puts the keyring master key into encryption_key.enc and says which sources it used', async () => {
    const r = await cli(['backup', 'create', '--output', out, '--password-stdin'], password);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json.keys, { password_source: 'stdin', master_key_source: 'keyring', master_key_included: true });
    archive = r.json.backup.path;
    const reader = await ArchiveReader.open(archive, async () => Buffer.from(password));
    const sealed = await readKeyEntry(reader);
    await reader.close();
    assert.ok(sealed, 'archive holds encryption_key.enc');

    // Disaster: the keyring is emptied. The key comes back from the backup alone.
    await keyring.delete(MASTER_KEY_ACCOUNT);
    const wrong = importMasterKey(sealed, async () => Buffer.from('not the password'), { keyring });
    await assert.rejects(wrong, (e: any) => e.code === 'WRONG_PASSWORD');
    assert.equal(await keyring.get(MASTER_KEY_ACCOUNT), null, 'a wrong password leaves the keyring untouched');
    const result = await importMasterKey(sealed, async () => Buffer.from(password), { keyring });
    assert.equal(result.outcome, 'stored');
    assert.deepEqual(await keyring.get(MASTER_KEY_ACCOUNT), masterKey);
  });

  test('key import also takes a backup: it reads encryption_key.enc with the backup password', async () => {
    await keyring.delete(MASTER_KEY_ACCOUNT);
    const bad = await cli(['backup', 'key', 'import', archive, '--password-stdin'], 'not the backup password');
    assert.equal(bad.code, 3, bad.stdout);
    assert.equal(bad.json.error.code, 'WRONG_PASSWORD');
    assert.equal(await keyring.get(MASTER_KEY_ACCOUNT), null, 'a wrong password leaves the keyring untouched');

    const good = await cli(['backup', 'key', 'import', archive, '--password-stdin'], password);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.deepEqual([good.json.outcome, good.json.from], ['stored', 'backup']);
    assert.deepEqual(await keyring.get(MASTER_KEY_ACCOUNT), masterKey);
    const again = await cli(['backup', 'key', 'import', archive, '--password-stdin'], password);
    assert.equal(again.json.outcome, 'unchanged');

    const plain = await cli(['backup', 'create', '--output', path.join(dir, 'plain'), '--no-encrypt']);
    assert.equal(plain.code, 0, plain.stderr);
    const none = await cli(['backup', 'key', 'import', plain.json.backup.path, '--password-stdin'], password);
    assert.equal(none.code, 5, none.stdout);
    assert.match(none.json.error.message, /not encrypted.*never (holds|contains) the master key/);

    const junk = path.join(dir, 'junk.bin');
    await fs.writeFile(junk, randomBytes(4096));
    const neither = await cli(['backup', 'key', 'import', junk, '--password-stdin'], password);
    assert.equal(neither.code, 4, neither.stdout);
    assert.match(neither.json.error.message, /neither an AICO key file nor a backup/);
    assert.deepEqual(await keyring.get(MASTER_KEY_ACCOUNT), masterKey);
  });

  test('key export, then import into an emptied keyring gives the same key; wrong password is exit 3', async () => {
    const file = path.join(dir, 'master.key');
    const exp = await cli(['backup', 'key', 'export', file, '--password-stdin'], 'paper key pw');
    assert.equal(exp.code, 0, exp.stderr);
    assert.equal(exp.json.master_key_source, 'keyring');
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    await keyring.delete(MASTER_KEY_ACCOUNT);

    const bad = await cli(['backup', 'key', 'import', file, '--password-stdin'], 'wrong');
    assert.equal(bad.code, 3);
    assert.equal(bad.json.error.code, 'WRONG_PASSWORD');
    assert.equal(await keyring.get(MASTER_KEY_ACCOUNT), null);

    const good = await cli(['backup', 'key', 'import', file, '--password-stdin'], 'paper key pw');
    assert.equal(good.code, 0, good.stderr);
    assert.equal(good.json.outcome, 'stored');
    assert.deepEqual(await keyring.get(MASTER_KEY_ACCOUNT), masterKey);

    const again = await cli(['backup', 'key', 'import', file, '--password-stdin'], 'paper key pw');
    assert.equal(again.json.outcome, 'unchanged');
  });

  test('importing a different key refuses (exit 10) unless --force', async () => {
    const other = path.join(dir, 'other.key');
    const otherKey = randomBytes(32).toString('hex');
    const exp = await runCli(['--json', 'backup', 'key', 'export', other, '--password-stdin'], {
      env: { DBUS_SESSION_BUS_ADDRESS: undefined, AICO_MASTER_KEY: otherKey },
      input: 'pw2',
    });
    assert.equal(exp.code, 0, exp.stderr);
    assert.equal(exp.json.master_key_source, 'env');
    const refused = await cli(['backup', 'key', 'import', other, '--password-stdin'], 'pw2');
    assert.equal(refused.code, 10);
    assert.equal(refused.json.error.code, 'KEY_CONFLICT');
    assert.deepEqual(await keyring.get(MASTER_KEY_ACCOUNT), masterKey, 'the existing key stays');
    const forced = await cli(['backup', 'key', 'import', other, '--password-stdin', '--force'], 'pw2');
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.json.replaced, true);
    assert.equal((await keyring.get(MASTER_KEY_ACCOUNT))?.toString(), otherKey);
    await keyring.set(MASTER_KEY_ACCOUNT, masterKey);
  });

  test('password set/status/clear, and an unattended create uses the stored password', async () => {
    assert.equal((await cli(['backup', 'password', 'status'])).json.stored, false);
    const set = await cli(['backup', 'password', 'set', '--password-stdin'], password);
    assert.equal(set.code, 0, set.stderr);
    assert.equal((await cli(['backup', 'password', 'status'])).json.stored, true);

    const created = await cli(['backup', 'create', '--output', path.join(dir, 'unattended')]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.json.keys.password_source, 'keyring');
    // The stored password is the archive's password: verify with it given explicitly.
    const verified = await cli(['backup', 'verify', created.json.backup.path, '--password-stdin'], password);
    assert.equal(verified.code, 0, verified.stderr);
    // An explicit source still wins over the keyring.
    const explicit = await cli(['backup', 'create', '--output', path.join(dir, 'explicit'), '--password-stdin'], 'another password');
    assert.equal(explicit.json.keys.password_source, 'stdin');

    const cleared = await cli(['backup', 'password', 'clear']);
    assert.equal(cleared.json.removed, true);
    assert.equal((await cli(['backup', 'password', 'status'])).json.stored, false);
    const none = await cli(['backup', 'create', '--output', path.join(dir, 'none')]);
    assert.equal(none.code, 2);
    assert.equal(none.json.error.code, 'PASSWORD_REQUIRED');
  });

  test('no secret appears in the archive bytes, the output, or any file left behind', async () => {
    const secrets = [masterKey, Buffer.from(masterKey.toString(), 'hex'), Buffer.from(password)];
    const found: string[] = [];
    const scan = async (d: string) => {
      for (const e of await fs.readdir(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) await scan(p);
        else if (e.isFile() && !p.startsWith(home)) {
          const bytes = await fs.readFile(p);
          for (const s of secrets) if (bytes.includes(s)) found.push(p);
        }
      }
    };
    await scan(dir);
    const r = await cli(['backup', 'create', '--output', out, '--password-stdin'], password);
    assert.equal(r.code, 0, r.stderr);
    for (const s of secrets) {
      assert.ok(!Buffer.from(r.stdout).includes(s) && !Buffer.from(r.stderr).includes(s), 'secret in CLI output');
      assert.ok(!(await fs.readFile(r.json.backup.path)).includes(s), 'secret in archive bytes');
    }
    assert.deepEqual(found, []);
  });
});

describe('headless: no Secret Service', () => {
  test('a restore says how to get the key out of the backup, and both commands it names work', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const headless = { DBUS_SESSION_BUS_ADDRESS: undefined, AICO_MASTER_KEY: undefined, AICO_BACKUP_PASSWORD: 'restore pw' };
    const seeded = await runCli(['--home', home, '--json', 'demo', 'seed', '--size', '4'], { env: headless });
    assert.equal(seeded.code, 0, seeded.stderr);
    const created = await runCli(['--home', home, '--json', 'backup', 'create', '--output', path.join(dir, 'b'), '--include', 'libsql,config'], {
      env: { ...headless, AICO_MASTER_KEY: seeded.json.master_key },
    });
    assert.equal(created.code, 0, created.stderr);
    const archive = created.json.backup.path;
    const restored = await runCli(['--home', home, '--json', 'backup', 'restore', archive, '--database', 'libsql', '--no-safety-backup'], { env: headless });
    assert.equal(restored.code, 0, restored.stdout + restored.stderr.slice(-2000));
    const warning = restored.json.warnings.find((w: { code: string }) => w.code === 'KEY_NOT_IMPORTED');
    assert.ok(warning, JSON.stringify(restored.json.warnings));

    // The commands exactly as the warning names them (FILE is the user's choice).
    const exportCmd = /"aico (backup key export --from \S+) FILE"/.exec(warning.message)?.[1];
    const importCmd = /"aico (backup key import \S+)"/.exec(warning.message)?.[1];
    assert.ok(exportCmd && importCmd, warning.message);
    const recovery = path.join(dir, 'recovery.key');
    const exported = await runCli(['--json', ...exportCmd.split(' '), recovery], { env: headless });
    assert.equal(exported.code, 0, exported.stdout + exported.stderr);
    assert.deepEqual([exported.json.master_key_source, exported.json.from], ['backup', archive]);
    assert.equal((await fs.stat(recovery)).mode & 0o777, 0o600);

    // Once a keyring is there: the backup itself, or the recovery file, puts the key into it.
    const ss = await startSecretService();
    const keyring = new Keyring({ ...process.env, ...ss.env } as NodeJS.ProcessEnv);
    const imported = await runCli(['--json', ...importCmd.split(' ')], { env: { ...headless, ...ss.env } });
    assert.equal(imported.code, 0, imported.stdout + imported.stderr);
    assert.equal((await keyring.get(MASTER_KEY_ACCOUNT))?.toString(), seeded.json.master_key);
    await keyring.delete(MASTER_KEY_ACCOUNT);
    const fromFile = await runCli(['--json', 'backup', 'key', 'import', recovery], { env: { ...headless, ...ss.env } });
    assert.equal(fromFile.code, 0, fromFile.stdout + fromFile.stderr);
    assert.equal(fromFile.json.from, 'key-file');
    assert.equal((await keyring.get(MASTER_KEY_ACCOUNT))?.toString(), seeded.json.master_key);
  });

  test('key export --from a backup without a key, or with the wrong password, writes nothing', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    await seedFiles({ home, sizeMb: 1 });
    const env = { DBUS_SESSION_BUS_ADDRESS: undefined, AICO_MASTER_KEY: undefined, AICO_BACKUP_PASSWORD: 'pw' };
    const keyless = await runCli(['--home', home, '--json', 'backup', 'create', '--output', path.join(dir, 'b'), '--include', 'config'], { env });
    assert.equal(keyless.code, 0, keyless.stderr);
    const out = path.join(dir, 'k.key');
    const none = await runCli(['--json', 'backup', 'key', 'export', '--from', keyless.json.backup.path, out], { env });
    assert.equal(none.code, 5, none.stdout);
    assert.match(none.json.error.message, /no master key/i);
    const wrong = await runCli(['--json', 'backup', 'key', 'export', '--from', keyless.json.backup.path, out], { env: { ...env, AICO_BACKUP_PASSWORD: 'wrong' } });
    assert.equal(wrong.code, 3, wrong.stdout);
    assert.deepEqual((await fs.readdir(dir)).filter((n) => n.startsWith('k.key')), []);
  });

  test('keyring commands fail with exit 9 and the way out; create still works with AICO_MASTER_KEY', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    await seedFiles({ home, sizeMb: 1 });
    const status = await runCli(['--json', 'backup', 'password', 'status'], { env: { DBUS_SESSION_BUS_ADDRESS: undefined } });
    assert.equal(status.code, 9);
    assert.equal(status.json.error.code, 'KEYRING_UNAVAILABLE');
    assert.match(status.json.error.hint, /AICO_MASTER_KEY/);
    assert.doesNotMatch(status.stdout + status.stderr, /Platform failure|DBus error/, 'no raw native error');

    const text = await runCli(['--home', home, 'backup', 'create', '--output', path.join(dir, 'b'), '--include', 'models,config'], {
      env: { DBUS_SESSION_BUS_ADDRESS: undefined, AICO_BACKUP_PASSWORD: 'pw' },
    });
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stderr.match(/keyring is not available/g)?.length, 1, 'said once');
    assert.match(text.stdout, /master key NOT included/);

    const withEnv = await runCli(['--home', home, '--json', 'backup', 'create', '--output', path.join(dir, 'c'), '--include', 'models,config'], {
      env: { DBUS_SESSION_BUS_ADDRESS: undefined, AICO_BACKUP_PASSWORD: 'pw', AICO_MASTER_KEY: 'k'.repeat(64) },
    });
    assert.equal(withEnv.code, 0, withEnv.stderr);
    assert.deepEqual(withEnv.json.keys, { password_source: 'env', master_key_source: 'env', master_key_included: true });
  });
});
