// End to end: the built CLI's TUI in a real 80x24 terminal (tmux): x on the backup list
// applies core.yaml's retention policy after a preview, the newest backup's password and a y.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { create } from '../../src/engine/index.js';
import { BIN, tempDir } from '../helpers.js';
import { hasTmux, TmuxSession } from './tmux.js';

const PASSWORD = 'tidy up 7';
const tmuxMissing = !(await hasTmux());

describe('cleanup in a real terminal (tmux, 80x24)', { skip: tmuxMissing && 'tmux is not installed', timeout: 120_000 }, () => {
  const dir = tempDir('aico-tui-cleanup-');
  const home = path.join(dir, 'home');
  const out = path.join(dir, 'backups');
  const tui = new TmuxSession();
  after(() => tui.kill());

  test('x: preview with reasons at 80x24, the password, y; exactly what the preview showed is removed', async () => {
    await fs.mkdir(path.join(home, 'config'), { recursive: true });
    await fs.writeFile(path.join(home, 'config', 'core.yaml'), 'backup:\n  retention:\n    keep_last: 2\n    keep_daily: 0\n    keep_weekly: 0\n    keep_monthly: 0\n');
    const names: string[] = [];
    for (let day = 1; day <= 5; day++) {
      const { backup } = await create({
        home, outputDir: out, encrypt: true, password: async () => Buffer.from(PASSWORD), kdfIterations: 1000,
        compression: 'zstd', compressionLevel: 1, include: ['config'], exclude: [], now: new Date(Date.UTC(2026, 4, day, 2)),
      });
      names.push(path.basename(backup.path));
    }
    await tui.start(['env', '-u', 'AICO_BACKUP_PASSWORD', '-u', 'DBUS_SESSION_BUS_ADDRESS', 'TZ=UTC', 'NO_COLOR=1', 'TERM=xterm-256color', process.execPath, BIN, '--home', home, '--output', out]);
    await tui.waitForScreen(`Backups in ${out} (5)`, 15_000);
    await tui.keys('x');
    await tui.waitForScreen(/^Password:/m);
    await tui.type(PASSWORD);
    await tui.waitForScreen(`Password: ${'*'.repeat(PASSWORD.length)}`);
    await tui.keys('Enter');
    const preview = await tui.waitForScreen('y = remove', 20_000);
    assert.match(preview, /Policy --keep-last 2 --keep-safety 3 \(retention: in core\.yaml\), periods in\s+UTC/);
    assert.match(preview, /^keep {4}2026-05-05 02:00 {2}full {3}newest backup; last 1 of 2/m);
    assert.match(preview, /^keep {4}2026-05-04 02:00 {2}full {3}last 2 of 2/m);
    for (const day of ['03', '02', '01']) assert.match(preview, new RegExp(`^REMOVE  2026-05-${day} 02:00  full`, 'm'));
    assert.match(preview.replace(/[│╭╮╰╯─]/g, ' ').replace(/\s+/g, ' '), /Remove 3 of 5 backups \([^)]+\)\? aico-backup-20260505-020000\.tar\.zst\.enc verified\. y = remove/);
    const lines = preview.trimEnd().split('\n');
    assert.ok(lines.length <= 24 && lines.every((l) => l.length <= 80), preview);
    assert.equal((await fs.readdir(out)).filter((n) => n.startsWith('aico-backup-')).length, 5, 'the preview removed nothing');
    await tui.keys('y');
    await tui.waitForScreen(/Removed 3 backup\(s\), freed/, 20_000);
    assert.deepEqual((await fs.readdir(out)).filter((n) => n.startsWith('aico-backup-')).sort(), [names[3], names[4]]);
    await tui.keys('q');
    await tui.waitForScreen(`Backups in ${out} (2)`);
  });
});
