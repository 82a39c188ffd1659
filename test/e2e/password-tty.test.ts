// Passwords on a real terminal (tmux, 80x24): the no-echo prompt, and --password-stdin where stdin is that terminal.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, ROOT, tempDir } from '../helpers.js';
import { frame, hasTmux, TmuxSession } from './tmux.js';

const tmuxMissing = !(await hasTmux());

describe('passwords on a terminal', { skip: tmuxMissing && 'tmux is not installed', timeout: 90_000 }, () => {
  const dir = tempDir('aico-pwtty-');
  const home = path.join(dir, 'home');
  const sessions: TmuxSession[] = [];
  before(async () => {
    assert.ok(existsSync(path.join(ROOT, 'dist', 'cli.js')), 'dist/ is missing: build first');
    await fs.mkdir(path.join(home, 'config'), { recursive: true });
    await fs.writeFile(path.join(home, 'config', 'notes.yaml'), 'a: 1\n');
  });
  after(() => Promise.all(sessions.map((s) => s.kill())));

  /** The built CLI in a pane, stdin and stdout the terminal, no password from the environment or a keyring. */
  async function cli(args: string[]): Promise<TmuxSession> {
    const s = new TmuxSession();
    sessions.push(s);
    const key = randomBytes(32).toString('base64');
    await s.start(['env', '-u', 'AICO_BACKUP_PASSWORD', '-u', 'AICO_HOME', '-u', 'DBUS_SESSION_BUS_ADDRESS', `AICO_MASTER_KEY=${key}`, 'TERM=xterm-256color', process.execPath, BIN, '--home', home, ...args]);
    return s;
  }

  for (const args of [['backup', 'create', '--include', 'config', '-o', 'OUT'], ['backup', 'info', 'FILE.tar.zst.enc']]) {
    test(`${args.slice(0, 2).join(' ')} --password-stdin on a terminal refuses at once (exit 2) instead of waiting for Ctrl-D`, async () => {
      const out = path.join(dir, `out-${sessions.length}`);
      const s = await cli([...args.map((a) => (a === 'OUT' ? out : a === 'FILE.tar.zst.enc' ? path.join(dir, 'missing.tar.zst.enc') : a)), '--password-stdin']);
      const state = await s.waitForExit(15_000);
      const screen = await s.captureAll();
      assert.deepEqual(state, { dead: true, status: 2, signal: null }, frame(screen));
      assert.match(screen, /^error: --password-stdin .*standard input is a terminal/m);
      assert.equal(existsSync(out), false, 'nothing was written');
    });
  }

  test('create asks twice without echo, each prompt and what follows on its own line', async () => {
    const out = path.join(dir, 'out-prompt');
    const s = await cli(['backup', 'create', '--include', 'config', '-o', out]);
    await s.waitForScreen(/^Backup password: *$/m, 20_000, null);
    await s.type('s3cret-pw');
    await s.keys('Enter');
    await s.waitForScreen(/^Repeat password: *$/m, 10_000, null);
    await s.type('s3cret-pw');
    await s.keys('Enter');
    const screen = await s.waitForScreen(/^Backup created: /m, 30_000, null);
    assert.doesNotMatch(screen, /s3cret/, 'no echo');
    assert.deepEqual(await s.waitForExit(10_000), { dead: true, status: 0, signal: null }, frame(screen));
  });
});
