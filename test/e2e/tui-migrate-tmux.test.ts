// End to end: the Migrate screen of the built CLI in a real 80x24 terminal (tmux), with real
// gocryptfs on FUSE: the directory, the password twice, the steps, y, the master key shown once.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { seedFiles } from '../../src/engine/index.js';
import { BIN, runCli, tempDir, treeHashes, unmountWhenFree } from '../helpers.js';
import { hasTmux, TmuxSession } from './tmux.js';

const haveGocryptfs = spawnSync('gocryptfs', ['-version']).status === 0 && existsSync('/dev/fuse');
const skip = !(await hasTmux()) ? 'tmux is not installed' : !haveGocryptfs ? 'gocryptfs or /dev/fuse is missing' : false;

describe('the Migrate screen in a real terminal (tmux, 80x24, real gocryptfs)', { skip, timeout: 120_000 }, () => {
  const dir = tempDir('aico-tui-migrate-');
  const home = path.join(dir, 'home');
  const cipher = path.join(dir, 'cipher');
  const state = path.join(dir, 'state');
  const tui = new TmuxSession();
  // afterEach: it runs before the temporary directory's own cleanup, which cannot remove a mount point.
  afterEach(async () => {
    await tui.kill();
    await unmountWhenFree(home);
  });

  test('m, e: directory, password twice, every step ticked, y, the master key once; the home is the mounted encrypted copy', async () => {
    await seedFiles({ home, sizeMb: 1, seed: 4 });
    const before = await treeHashes(home);
    const env = ['AICO_BACKUP_PASSWORD=backup-pw', `XDG_STATE_HOME=${state}`, 'AICO_TEST_GOCRYPTFS_SCRYPTN=10', 'NO_COLOR=1', 'TERM=xterm-256color'];
    await tui.start(['env', '-u', 'DBUS_SESSION_BUS_ADDRESS', ...env, process.execPath, BIN, '--home', home, '--output', path.join(dir, 'backups')]);
    await tui.waitForScreen('No backups yet', 15_000);
    await tui.keys('m');
    await tui.waitForScreen('plaintext (not migrated)');
    await tui.keys('e');
    await tui.waitForScreen('Encrypted directory (new or empty):');
    for (let i = 0; i < 40; i++) await tui.keys('BSpace');
    await tui.type(cipher);
    await tui.keys('Enter');
    await tui.waitForScreen('New password for the encrypted home:');
    await tui.type('tmux fs pw');
    await tui.keys('Enter');
    await tui.waitForScreen('Repeat it:');
    await tui.type('tmux fs pw');
    await tui.keys('Enter');
    const confirm = await tui.waitForScreen('Switch AICO over to the encrypted home', 60_000);
    assert.match(confirm, /✓ Unmount, gocryptfs -fsck/);
    assert.match(confirm, /✓ Verify every file and database through the mount/);
    const lines = confirm.trimEnd().split('\n');
    assert.ok(lines.length <= 24 && lines.every((l) => l.length <= 80), confirm);
    await tui.keys('y');
    const done = await tui.waitForScreen(/Master key, shown once/, 30_000);
    assert.match(done.replace(/[│╭╮╰╯─\s]+/g, ' '), /([0-9a-f]{8}-){7}[0-9a-f]{8}/);
    assert.match(done, /✓ Switch over: plaintext aside, encrypted home mounted/);
    assert.deepEqual(await treeHashes(home), before, 'the home is the encrypted copy, mounted, with the same files');
    const status = await runCli(['--home', home, 'backup', 'migrate', 'status', '--json'], { env: { XDG_STATE_HOME: state } });
    assert.deepEqual([status.json.status.state, status.json.status.mounted], ['migrated', true]);
    assert.ok(existsSync(path.join(cipher, 'gocryptfs.conf')));
    assert.ok((await fs.readdir(dir)).some((n) => n.startsWith('home.plaintext-')));
  });
});
