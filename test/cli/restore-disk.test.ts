// Restore against real small and read-only filesystems (tmpfs mounts; needs
// root, which CI has): a disk too small for what restore writes is refused
// with NO_SPACE (exit 7) before anything is written, a disk that fills up
// anyway is reported as NO_SPACE too, and a read-only target says so.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs, mkdtempSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli } from '../helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'aico-restore-disk-'));
const mounts: string[] = [];
after(async () => {
  for (const m of mounts.reverse()) {
    try {
      execFileSync('umount', [m], { stdio: 'ignore' });
    } catch {
      /* not mounted */
    }
  }
  await fs.rm(root, { recursive: true, force: true });
});

function mount(name: string, options: string): string {
  const dir = path.join(root, name);
  execFileSync('mkdir', ['-p', dir]);
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
  mounts.push(dir);
  return dir;
}

const unmount = (dir: string) => execFileSync('umount', [dir]);

const cannotMount = ((): string | false => {
  try {
    mount('probe', 'size=1m');
    unmount(path.join(root, 'probe'));
    return false;
  } catch (error) {
    return `cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]}); needs root, as in CI`;
  }
})();

const ENV = { XDG_STATE_HOME: path.join(root, 'state'), DBUS_SESSION_BUS_ADDRESS: undefined, AICO_FAULT: undefined, AICO_BACKUP_PASSWORD: undefined };
const MiB = 1024 * 1024;
const home = path.join(root, 'home');
let archive = '';
let chromaBytes = 0;
let configArchive = '';

async function setup(): Promise<void> {
  if (archive) return;
  const seeded = await runCli(['--home', home, '--json', 'demo', 'seed', '--size', '2', '--seed', '5'], { env: ENV });
  assert.equal(seeded.code, 0, seeded.stderr);
  const env = { ...ENV, AICO_MASTER_KEY: seeded.json.master_key };
  const made = await runCli(['--home', home, '--json', 'backup', 'create', '--no-encrypt', '--include', 'chromadb', '-o', path.join(root, 'backups')], { env });
  assert.equal(made.code, 0, made.stdout + made.stderr);
  archive = made.json.backup.path;
  chromaBytes = made.json.backup.sources.chromadb.size_bytes;
  assert.ok(chromaBytes > 20 * MiB, `the Chroma store is big enough to tell staging from staging + its validation copy (${chromaBytes})`);
  const cfg = await runCli(['--home', home, '--json', 'backup', 'create', '--no-encrypt', '--include', 'config', '-o', path.join(root, 'config-backups')], { env });
  assert.equal(cfg.code, 0, cfg.stdout + cfg.stderr);
  configArchive = cfg.json.backup.path;
}

const restoreInto = (target: string, file: string, env: Record<string, string | undefined> = {}) =>
  runCli(['--home', home, '--json', 'backup', 'restore', file, '--target', target, '--no-safety-backup'], { env: { ...ENV, ...env } });

describe('restore on a disk that is too small', { skip: cannotMount }, () => {
  test('room for the staged files but not for the copy Chroma is validated on: NO_SPACE before anything is written', async () => {
    await setup();
    // Staging fits (1.0x), staging plus the validation copy (2.0x) does not.
    const mnt = mount('small', `size=${Math.ceil((chromaBytes * 1.4) / MiB)}m`);
    const r = await restoreInto(path.join(mnt, 'target'), archive);
    assert.equal(r.code, 7, r.stdout + r.stderr.slice(-1500));
    assert.equal(r.json.error.code, 'NO_SPACE');
    assert.match(r.json.error.message, /validated on/);
    assert.match(r.json.error.message, new RegExp(path.join(mnt, 'target')));
    assert.deepEqual(await fs.readdir(mnt), [], 'nothing was written to the disk');
  });

  test('a disk that fills up while validating (out of inodes) is reported as NO_SPACE, not as a bad backup', async () => {
    await setup();
    // How many inodes a restore uses up to validation: kill it once staged, on a roomy disk.
    const probe = mount('probe-inodes', `size=${Math.ceil((chromaBytes * 3) / MiB)}m`);
    const killed = await restoreInto(path.join(probe, 'target'), archive, { AICO_FAULT: 'staged' });
    assert.equal(killed.signal, 'SIGKILL', killed.stdout + killed.stderr.slice(-1500));
    const s = statfsSync(probe);
    const used = s.files - s.ffree;
    unmount(probe);
    // Enough for staging and the start of the validation copy, not for the copy itself.
    const mnt = mount('few-inodes', `size=${Math.ceil((chromaBytes * 3) / MiB)}m,nr_inodes=${used + 3}`);
    const r = await restoreInto(path.join(mnt, 'target'), archive);
    assert.equal(r.code, 7, r.stdout + r.stderr.slice(-1500));
    assert.equal(r.json.error.code, 'NO_SPACE');
    assert.match(r.json.error.message, /filled up/);
    assert.deepEqual(await fs.readdir(mnt), [], 'staging, lock and the target directory it made are gone');
  });
});

describe('restore onto a read-only filesystem', { skip: cannotMount }, () => {
  test('--target on a read-only mount: a clear I/O error naming the path, not an internal error', async () => {
    await setup();
    const mnt = mount('readonly', 'size=4m');
    await fs.mkdir(path.join(mnt, 'empty'));
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    for (const target of [path.join(mnt, 'new', 'home'), path.join(mnt, 'empty')]) {
      const r = await restoreInto(target, configArchive);
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.json.error.code, 'IO_ERROR', r.stdout);
      assert.match(r.json.error.message, /read-only/);
      assert.ok(r.json.error.message.includes(target), r.json.error.message);
      assert.match(r.json.error.hint, /read-write|another directory/);
    }
  });
});
