import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { seedFiles } from '../../src/engine/index.js';
import { runCli, tempDir } from '../helpers.js';

const dir = tempDir();
const home = path.join(dir, 'home');
const out = path.join(dir, 'out');
const PW = { AICO_BACKUP_PASSWORD: 'cli-test-pw' };
let archive = '';

before(async () => {
  await seedFiles({ home, sizeMb: 3, seed: 5 });
});

describe('aico backup CLI', () => {
  test('create --json prints one document with the backup; progress goes to stderr as JSON lines', async () => {
    const r = await runCli(['--home', home, 'backup', 'create', '--output', out, '--json', '--include', 'models,cache,config'], { env: PW });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.ok, true);
    archive = r.json.backup.path;
    assert.match(path.basename(archive), /^aico-backup-\d{8}-\d{6}\.tar\.zst\.enc$/);
    assert.equal(r.json.backup.type, 'full');
    assert.equal(r.json.backup.bytes, (await fs.stat(archive)).size);
    const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(events.some((e) => e.type === 'progress'));
    assert.equal(events.at(-1).type, 'summary');
    assert.ok(!r.stdout.includes('cli-test-pw') && !r.stderr.includes('cli-test-pw'));
  });

  test('list, verify and info read it back', async () => {
    const list = await runCli(['backup', 'list', out, '--json']);
    assert.equal(list.code, 0);
    assert.equal(list.json.backups.length, 1);
    assert.equal(list.json.backups[0].encrypted, true);
    assert.equal(list.json.backups[0].sources, null, 'an encrypted backup reveals no contents without the password');
    const v = await runCli(['backup', 'verify', archive, '--json'], { env: PW });
    assert.equal(v.code, 0, v.stdout);
    assert.deepEqual([v.json.ok, v.json.verified, v.json.problems], [true, true, []]);
    const i = await runCli(['backup', 'info', archive, '--json', '--password-stdin'], { input: 'cli-test-pw\n' });
    assert.equal(i.code, 0, i.stdout);
    assert.deepEqual(Object.keys(i.json.info.metadata.databases).sort(), ['cache', 'config', 'models']);
  });

  test('wrong password exits 3 with WRONG_PASSWORD', async () => {
    const r = await runCli(['backup', 'verify', archive, '--json'], { env: { AICO_BACKUP_PASSWORD: 'nope' } });
    assert.equal(r.code, 3);
    assert.equal(r.json.error.code, 'WRONG_PASSWORD');
  });

  test('a damaged archive exits 4', async () => {
    const bytes = await fs.readFile(archive);
    const bad = path.join(dir, 'damaged.tar.zst.enc');
    bytes[bytes.length - 100]! ^= 0xff;
    await fs.writeFile(bad, bytes);
    const r = await runCli(['backup', 'verify', bad, '--json'], { env: PW });
    assert.equal(r.code, 4);
    assert.equal(r.json.error.code, 'CORRUPT_ARCHIVE');
    const text = await runCli(['backup', 'verify', bad], { env: PW });
    assert.match(text.stderr, /error: Encrypted segment \d+ failed authentication/);
    assert.match(text.stderr, /another copy/);
  });

  test('no password source and no terminal: a clear error, nothing written', async () => {
    const empty = path.join(dir, 'nopw');
    const r = await runCli(['--home', home, 'backup', 'create', '--output', empty]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /needs a password/);
    assert.match(r.stderr, /--password-file/);
    assert.deepEqual(await fs.readdir(empty).catch(() => []), []);
  });

  test('PASSWORD_REQUIRED is one error: it names what needed the password and lists the sources that apply there', async () => {
    const noKeyring = { env: { DBUS_SESSION_BUS_ADDRESS: undefined } };
    const sources = 'Use --password-file FILE, --password-stdin or $AICO_BACKUP_PASSWORD';
    const cases: [string[], string, string][] = [
      [['--home', home, 'backup', 'create', '-o', path.join(dir, 'nopw2')], 'An encrypted backup needs a password and none was given.', `${sources}, store one with "aico backup password set", or run on a terminal to be asked, or pass --no-encrypt.`],
      [['backup', 'verify', archive], 'This backup is encrypted and no password was given.', `${sources}, store one with "aico backup password set", or run on a terminal to be asked.`],
      [['backup', 'key', 'export', path.join(dir, 'never.key')], 'Exporting the master key needs a password and none was given.', `${sources}, or run on a terminal to be asked.`],
      [['backup', 'password', 'set'], 'Storing the backup password needs a password and none was given.', `${sources}, or run on a terminal to be asked.`],
    ];
    for (const [args, message, hint] of cases) {
      const r = await runCli(['--json', ...args], noKeyring);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}`);
      assert.deepEqual(r.json.error, { code: 'PASSWORD_REQUIRED', message, hint }, args.join(' '));
    }
  });

  test('a home with no AICO data: exit 5 before any password is used or any directory is made', async () => {
    const out2 = path.join(dir, 'never-made');
    const r = await runCli(['--home', path.join(dir, 'no-such-home'), '--json', 'backup', 'create', '--output', out2], { env: PW });
    assert.equal(r.code, 5);
    assert.equal(r.json.error.code, 'NOT_FOUND');
    assert.doesNotMatch(r.stderr, /keyring/, 'no keyring lookup for nothing');
    await assert.rejects(fs.stat(out2));
  });

  test('usage errors exit 2, also under --json', async () => {
    const r = await runCli(['backup', 'create', '--compression', 'brotli', '--json']);
    assert.equal(r.code, 2);
    assert.equal(r.json.error.code, 'USAGE');
    const lvl = await runCli(['--home', home, 'backup', 'create', '--compression-level', '12', '--no-encrypt', '-o', out]);
    assert.equal(lvl.code, 2);
    assert.match(lvl.stderr, /1 to 9/);
  });

  test('a missing file exits 5', async () => {
    const r = await runCli(['backup', 'verify', path.join(dir, 'nothing.tar.zst'), '--json']);
    assert.equal(r.code, 5);
    assert.equal(r.json.error.code, 'NOT_FOUND');
  });

  test('bad configuration names the file and the key', async () => {
    const h = path.join(dir, 'badconf');
    await seedFiles({ home: h, sizeMb: 1 });
    await fs.writeFile(path.join(h, 'config', 'core.yaml'), 'backup:\n  compresion: zstd\n  compression_level: 11\n');
    const r = await runCli(['--home', h, 'backup', 'create', '--no-encrypt', '-o', path.join(dir, 'o2'), '--json']);
    assert.equal(r.code, 2);
    assert.equal(r.json.error.code, 'CONFIG_INVALID');
    assert.match(r.json.error.message, /core\.yaml/);
    assert.match(r.json.error.message, /backup\.compression_level/);
    assert.match(r.json.error.message, /unknown key\(s\) "compresion"/);
  });

  test('config in the home overrides defaults, flags override config', async () => {
    const h = path.join(dir, 'conf');
    await seedFiles({ home: h, sizeMb: 1 });
    await fs.writeFile(path.join(h, 'config', 'core.yaml'), `backup:\n  encrypt: false\n  compression: gzip\n  output_dir: ${path.join(dir, 'conf-out')}\n`);
    const r = await runCli(['--home', h, 'backup', 'create', '--json']);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.json.backup.path, /conf-out\/aico-backup-.*\.tar\.gz$/);
    const r2 = await runCli(['--home', h, 'backup', 'create', '--compression', 'lz4', '--json']);
    assert.match(r2.json.backup.path, /\.tar\.lz4$/);
  });

  test('a live lock refuses with exit 6; a dead one is taken over with a warning', async () => {
    const lockDir = path.join(dir, 'locked');
    await fs.mkdir(lockDir, { recursive: true });
    const lock = path.join(lockDir, '.aico-backup.lock');
    const host = (await import('node:os')).hostname();
    await fs.writeFile(lock, JSON.stringify({ pid: process.pid, host, op: 'create', started: 'now' }));
    const r = await runCli(['--home', home, 'backup', 'create', '--no-encrypt', '-o', lockDir, '--json', '--include', 'models,cache,config']);
    assert.equal(r.code, 6);
    assert.equal(r.json.error.code, 'LOCKED');
    await fs.writeFile(lock, JSON.stringify({ pid: 2 ** 22 + 17, host, op: 'create', started: 'then' }));
    const r2 = await runCli(['--home', home, 'backup', 'create', '--no-encrypt', '-o', lockDir, '--json', '--include', 'models,cache,config']);
    assert.equal(r2.code, 0, r2.stdout);
    assert.ok(r2.json.warnings.some((w: { code: string }) => w.code === 'STALE_LOCK'), JSON.stringify(r2.json.warnings));
    await assert.rejects(fs.stat(lock));
  });

  test('--help is fast to reach and documents exit codes', async () => {
    const r = await runCli(['backup', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Exit codes:/);
    assert.match(r.stdout, /3 +wrong password/);
  });
});
