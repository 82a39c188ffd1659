// TERM=dumb: a terminal that cannot move the cursor or erase (Emacs shell, some serial consoles, CI logs).
// The built CLI runs in a real pty (tmux, 80x24); script(1) inside the pane records every byte it writes.
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, ROOT, tempDir } from '../helpers.js';
import { hasTmux, TmuxSession } from './tmux.js';

const tmuxMissing = !(await hasTmux());
const scriptMissing = !existsSync('/usr/bin/script');
/** CSI sequences that move the cursor, erase, scroll or switch modes (anything but SGR colour/style). */
const CURSOR_OR_ERASE = /\x1b\[[\d;?]*[ABCDEFGHJKSTfhlnsu]/g;
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('TERM=dumb in a real terminal', { skip: (tmuxMissing && 'tmux is not installed') || (scriptMissing && 'script (util-linux) is not installed'), timeout: 60_000 }, () => {
  const dir = tempDir('aico-dumb-');
  const sessions: TmuxSession[] = [];
  before(() => assert.ok(existsSync(path.join(ROOT, 'dist', 'cli.js')), 'dist/ is missing: build first'));
  after(() => Promise.all(sessions.map((s) => s.kill())));

  /** Runs the CLI with TERM=dumb in a pane; presses q if it is still running once it has drawn; returns the raw bytes and exit status. */
  async function runDumb(args: string[]): Promise<{ raw: string; status: number | null; screen: string }> {
    const raw = path.join(dir, `raw-${sessions.length}`);
    const cmd = ['env', '-u', 'AICO_HOME', '-u', 'AICO_BACKUP_PASSWORD', '-u', 'DBUS_SESSION_BUS_ADDRESS', 'TERM=dumb', process.execPath, BIN, ...args].map(sq).join(' ');
    const s = new TmuxSession();
    sessions.push(s);
    await s.start(['script', '-q', '-e', '-c', cmd, raw]);
    await s.waitForScreen(/aico backup --help|Backups in|Pane is dead/, 15_000, null);
    if (!(await s.paneState()).dead) await s.keys('q');
    const state = await s.waitForExit(10_000);
    return { raw: await fs.readFile(raw, 'utf8'), status: state.status, screen: await s.captureAll() };
  }

  test('"aico" on a dumb terminal writes no cursor-movement or erase sequences and says to use the commands', async () => {
    const home = path.join(dir, 'home');
    await fs.mkdir(path.join(home, 'config'), { recursive: true });
    const { raw, status, screen } = await runDumb(['--home', home, '--output', path.join(dir, 'out')]);
    assert.deepEqual(raw.match(CURSOR_OR_ERASE) ?? [], [], `escape sequences in the output:\n${JSON.stringify(raw.slice(0, 400))}`);
    assert.match(screen, /TERM=dumb/);
    assert.match(screen, /aico backup --help/);
    assert.equal(status, 2, screen);
  });
});
