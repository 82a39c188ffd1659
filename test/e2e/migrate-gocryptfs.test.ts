// End to end with real gocryptfs on real FUSE: a seeded AICO home migrated, used through
// the mount, backed up, unmounted and mounted again, rolled back; interruptions at every
// step; a missing FUSE device; a wrong password.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { seedFiles } from '../../src/engine/index.js';
import { seedSample } from '../../src/engine/sample/seed-home.js';
import { runCli, tempDir, treeHashes, unmountWhenFree } from '../helpers.js';

const haveGocryptfs = spawnSync('gocryptfs', ['-version']).status === 0 && spawnSync('fusermount3', ['-V']).status === 0;
const skip = !haveGocryptfs ? 'gocryptfs and fuse3 are not installed (Debian: apt-get install gocryptfs fuse3)' : !existsSync('/dev/fuse') ? 'no /dev/fuse here' : false;

/**
 * What AICO's data is, for comparing a home before and after: not SQLite's -shm or LMDB's lock file, and not the
 * seeded home's empty -wal, which the first close of the database (the migration's check of it) removes.
 */
const data = (dir: string) => treeHashes(dir, /-shm$|-wal$|lock\.mdb$|^data\/logs\//);

describe('migrate onto gocryptfs (real FUSE)', { skip, timeout: 600_000 }, () => {
  const root = tempDir('aico-migrate-');
  let masterKey = '';
  // A cheap scrypt for the interruption runs (each mount, fsck and key dump derives the key again); the first test keeps gocryptfs's default.
  const env = () => ({ AICO_MASTER_KEY: masterKey, AICO_BACKUP_PASSWORD: 'backup-pw', DBUS_SESSION_BUS_ADDRESS: undefined, XDG_STATE_HOME: path.join(root, 'state') });
  const cli = (home: string, args: string[], extra: Record<string, string | undefined> = {}) => runCli(['--home', home, 'backup', ...args], { env: { ...env(), ...extra } });
  const fsPw = path.join(root, 'fs-pw');
  /** Unmounted when the test ends (before the temporary directory's own cleanup, which cannot remove a mount point). */
  const unmountAfter = (t: { after(fn: () => Promise<void>): void }, ...points: string[]) => t.after(async () => {
    for (const m of points) await unmountWhenFree(m);
  });
  before(async () => {
    await fs.writeFile(fsPw, 'gocryptfs-pw\n', { mode: 0o600 });
  });

  test('a seeded home: backed up, encrypted, every file identical and every database opened through the mount; backups read the mount; unmount, mount, rollback', async (t) => {
    const home = path.join(root, 'home');
    ({ masterKey } = await seedSample({ home, sizeMb: 4, seed: 11 }));
    const before = await data(home);
    const cipher = path.join(root, 'cipher');
    unmountAfter(t, home, path.join(root, '.cipher.aico-mount'));
    const r = await cli(home, ['migrate', 'encrypt', '--output', cipher, '--backup-output', path.join(root, 'backups'), '--fs-password-file', fsPw, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.json.master_key, /^([0-9a-f]{8}-){7}[0-9a-f]{8}$/);
    assert.deepEqual(r.json.verified.databases.map((d: any) => d.engine).sort(), ['chromadb', 'libsql', 'lmdb']);
    assert.ok(existsSync(r.json.backup));
    // The home is the mount now: the same data, read through gocryptfs; the ciphertext holds none of it in the clear.
    assert.deepEqual(await data(home), before);
    assert.ok(existsSync(path.join(cipher, 'gocryptfs.conf')));
    assert.ok(!(await fs.readdir(cipher)).includes('data'), 'file names are encrypted');
    const status = await cli(home, ['migrate', 'status', '--json']);
    assert.deepEqual([status.json.status.state, status.json.status.mounted, status.json.status.plaintext.present], ['migrated', true, true]);
    // A backup of the migrated home reads the plaintext view and verifies.
    const b = await cli(home, ['create', '-o', path.join(root, 'after'), '--json']);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.equal((await cli(home, ['verify', b.json.backup.path])).code, 0);
    // Unmounted, a backup is refused clearly; a wrong password does not mount it; the right one does.
    assert.equal((await cli(home, ['migrate', 'unmount', '--json'])).json.was_mounted, true);
    const refused = await cli(home, ['create', '-o', path.join(root, 'after'), '--json']);
    assert.deepEqual([refused.code, refused.json.error.code], [18, 'NOT_MOUNTED']);
    const wrongPw = path.join(root, 'wrong-pw');
    await fs.writeFile(wrongPw, 'not it\n', { mode: 0o600 });
    const wrong = await cli(home, ['migrate', 'mount', '--fs-password-file', wrongPw, '--json']);
    assert.deepEqual([wrong.code, wrong.json.error.code], [3, 'WRONG_PASSWORD']);
    assert.equal((await cli(home, ['migrate', 'mount', '--fs-password-file', fsPw, '--json'])).code, 0);
    assert.deepEqual(await data(home), before);
    // Rollback: the plaintext home back in place, the cipher directory left alone.
    const back = await cli(home, ['migrate', 'rollback', '--json']);
    assert.equal(back.code, 0, back.stdout + back.stderr);
    assert.equal(back.json.from, 'plaintext');
    assert.deepEqual(await data(home), before);
    assert.ok(existsSync(path.join(cipher, 'gocryptfs.conf')));
    assert.equal((await cli(home, ['migrate', 'status', '--json'])).json.status.state, 'not-migrated');
  });

  test('no FUSE device (as in a container): FUSE_UNAVAILABLE with what to do, and nothing changed', async () => {
    const home = path.join(root, 'nofuse');
    await seedFiles({ home, sizeMb: 1, seed: 3 });
    const before = await treeHashes(home);
    const r = await cli(home, ['migrate', 'encrypt', '--output', path.join(root, 'nofuse-cipher'), '--no-create-backup', '--fs-password-file', fsPw, '--json'], { AICO_FUSE_DEVICE: path.join(root, 'no-such-fuse') });
    assert.deepEqual([r.code, r.json.error.code], [17, 'FUSE_UNAVAILABLE']);
    assert.match(r.json.error.message, /fuse device not found/);
    assert.match(r.json.error.hint, /--device \/dev\/fuse/);
    assert.deepEqual(await treeHashes(home), before);
    assert.ok(!existsSync(path.join(root, 'nofuse-cipher')));
    assert.equal((await cli(home, ['migrate', 'status', '--json'])).json.status.state, 'not-migrated');
  });

  test('finalize deletes the plaintext copy; rollback then restores the backup made first through the validated restore', async (t) => {
    const home = path.join(root, 'fin');
    const cipher = path.join(root, 'fin-cipher');
    unmountAfter(t, home);
    await seedFiles({ home, sizeMb: 1, seed: 21 });
    await fs.writeFile(path.join(home, 'config', 'core.yaml'), 'backup:\n  include: [config, models, cache]\n  exclude: []\n');
    const before = await treeHashes(home);
    const cheap = { AICO_TEST_GOCRYPTFS_SCRYPTN: '10' };
    const r = await cli(home, ['migrate', 'encrypt', '--output', cipher, '--backup-output', path.join(root, 'fin-backups'), '--fs-password-file', fsPw, '--json'], cheap);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const fin = await cli(home, ['migrate', 'finalize', '--json']);
    assert.equal(fin.code, 0, fin.stdout + fin.stderr);
    assert.equal(fin.json.removed, r.json.plaintext);
    assert.ok(fin.json.files > 0);
    assert.ok(!existsSync(r.json.plaintext));
    assert.match((await cli(home, ['migrate', 'finalize'])).stderr, /already gone/);
    const back = await cli(home, ['migrate', 'rollback', '--backup', r.json.backup, '--json']);
    assert.equal(back.code, 0, back.stdout + back.stderr);
    assert.equal(back.json.from, 'backup');
    const after = Object.fromEntries(Object.entries(await treeHashes(home)).filter(([p]) => !p.startsWith('data/logs/')));
    assert.deepEqual(after, before);
    assert.equal((await cli(home, ['migrate', 'status', '--json'])).json.status.state, 'not-migrated');
    assert.ok(existsSync(path.join(cipher, 'gocryptfs.conf')), 'the cipher directory is left alone');
  });

  // Killed (SIGKILL) after each step: running it again finishes the migration, or rollback leaves the home as it was.
  describe('killed after each step', () => {
  for (const [i, step] of ['backup', 'init', 'mount', 'copy', 'verify', 'fsck', 'swap-renamed', 'swap'].entries()) {
    test(`killed after ${step}: ${i % 2 === 0 ? 'the rerun finishes it' : 'rollback restores the home'}`, async (t) => {
      const home = path.join(root, `k-${step}`);
      const cipher = path.join(root, `k-${step}-cipher`);
      unmountAfter(t, home, path.join(root, `.k-${step}-cipher.aico-mount`));
      await seedFiles({ home, sizeMb: 1, seed: i });
      const before = await treeHashes(home);
      const args = ['migrate', 'encrypt', '--output', cipher, '--fs-password-file', fsPw, ...(step === 'backup' ? ['--backup-output', path.join(root, `k-${step}-b`)] : ['--no-create-backup']), '--json'];
      const cheap = { AICO_TEST_GOCRYPTFS_SCRYPTN: '10' };
      const killed = await cli(home, args, { ...cheap, AICO_FAULT: `migrate:${step}` });
      assert.equal(killed.signal, 'SIGKILL', killed.stdout + killed.stderr);
      const status = await cli(home, ['migrate', 'status', '--json']);
      assert.equal(status.json.status.state, 'in-progress');
      if (i % 2 === 0) {
        const again = await cli(home, args, cheap);
        assert.equal(again.code, 0, again.stdout + again.stderr);
        assert.equal(again.json.resumed, step === 'swap-renamed' ? 'fsck' : step);
        assert.deepEqual(await treeHashes(home), before);
        assert.equal((await cli(home, ['migrate', 'status', '--json'])).json.status.state, 'migrated');
        await cli(home, ['migrate', 'unmount']);
      } else {
        const back = await cli(home, ['migrate', 'rollback', '--json']);
        assert.equal(back.code, 0, back.stdout + back.stderr);
        assert.deepEqual(await treeHashes(home), before);
        assert.equal((await cli(home, ['migrate', 'status', '--json'])).json.status.state, 'not-migrated');
      }
    });
  }
  });
});
