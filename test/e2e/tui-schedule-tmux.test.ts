// End to end: the Schedule screens of the built CLI in a real 80x24 terminal (tmux): a new
// schedule typed into the form, saved into core.yaml, then run now: a backup that verifies.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import YAML from 'yaml';
import { BIN, runCli, tempDir } from '../helpers.js';
import { hasTmux, TmuxSession } from './tmux.js';

const tmuxMissing = !(await hasTmux());

describe('schedules in a real terminal (tmux, 80x24)', { skip: tmuxMissing && 'tmux is not installed', timeout: 120_000 }, () => {
  const dir = tempDir('aico-tui-schedule-');
  const home = path.join(dir, 'home');
  const out = path.join(dir, 'backups');
  const pw = path.join(dir, 'pw');
  const tui = new TmuxSession();
  after(() => tui.kill());

  test('s, n: the form checks as it is typed, enter saves into core.yaml; r runs it now; the screen fits 80x24', async () => {
    await fs.mkdir(path.join(home, 'config'), { recursive: true });
    await fs.writeFile(path.join(home, 'config', 'settings.yaml'), 'hello: tmux\n');
    await fs.writeFile(path.join(home, 'config', 'core.yaml'), 'backup:\n  include: [config]\n  exclude: []\n');
    await fs.writeFile(pw, 'tmux-pw\n', { mode: 0o600 });
    await tui.start(['env', '-u', 'AICO_BACKUP_PASSWORD', '-u', 'DBUS_SESSION_BUS_ADDRESS', 'TZ=UTC', 'NO_COLOR=1', 'TERM=xterm-256color', process.execPath, BIN, '--home', home, '--output', out]);
    await tui.waitForScreen('No backups yet', 15_000);
    await tui.keys('s');
    await tui.waitForScreen('No schedules yet. Press n to create one.');
    await tui.keys('n');
    await tui.waitForScreen(/Next runs: \w{3} \d\d-\d\d 02:00, /);
    // Time "02:00" -> "03:15"; the preview follows.
    await tui.keys('Down', 'Down', 'BSpace', 'BSpace', 'BSpace', 'BSpace', 'BSpace');
    await tui.waitForScreen('! Time: HH:MM');
    await tui.type('03:15');
    await tui.waitForScreen(/Next runs: \w{3} \d\d-\d\d 03:15, \w{3} \d\d-\d\d 03:15, \w{3} \d\d-\d\d 03:15/);
    // Down to the password file, typed.
    await tui.keys('Down', 'Down', 'Down');
    await tui.waitForScreen(/^> Password file {5}_ \(empty: the stored password/m);
    await tui.type(pw);
    const form = await tui.waitForScreen(new RegExp(`^> Password file {5}${pw.replace(/[/.-]/g, (c) => `\\${c}`)}_$`, 'm'));
    const lines = form.trimEnd().split('\n');
    assert.ok(lines.length <= 24 && lines.every((l) => l.length <= 80), form);
    await tui.keys('Enter');
    const list = await tui.waitForScreen(/^> default +daily 03:15 +\w{3} \d\d-\d\d 03:15 +never +ok$/m);
    assert.ok(list.trimEnd().split('\n').every((l) => l.length <= 80), list);
    const saved = YAML.parse(await fs.readFile(path.join(home, 'config', 'core.yaml'), 'utf8'));
    assert.deepEqual(saved.backup.schedules.map((s: any) => [s.name, s.frequency, s.time, s.password_file, s.output_dir]), [['default', 'daily', '03:15', pw, out]]);
    assert.deepEqual(saved.backup.include, ['config'], 'the rest of core.yaml is kept');

    await tui.keys('r');
    const ran = await tui.waitForScreen(/Ran default: full backup\s+\S+aico-backup-\S+\.tar\.zst\.enc/, 30_000);
    const archives = (await fs.readdir(out)).filter((n) => n.startsWith('aico-backup-'));
    assert.equal(archives.length, 1, ran);
    const verify = await runCli(['backup', 'verify', path.join(out, archives[0]!), '--password-file', pw], { env: { DBUS_SESSION_BUS_ADDRESS: undefined } });
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    await tui.waitForScreen(/^> default +daily 03:15 +\w{3} \d\d-\d\d 03:15 +\w{3} \d\d-\d\d \d\d:\d\d +ok$/m);
  });
});
