import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** True when a usable tmux binary is on PATH. */
export async function hasTmux(): Promise<boolean> {
  return run('tmux', ['-V']).then(
    () => true,
    () => false,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One detached tmux session on a private server (-L with a unique socket
 * name, no user config), so a test never touches anybody else's tmux.
 * The pane stays after its process exits (remain-on-exit), so the last
 * screen and the exit status can still be read.
 */
export class TmuxSession {
  readonly socket = `aico-e2e-${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly name = 'tui';
  /** The last screen read by capture() (for failure messages). */
  lastScreen = '';
  /** The pid of the pane's process (the TUI), read at start. */
  pid: number | null = null;
  /** The pid of this test's own tmux server. */
  private serverPid: number | null = null;
  private socketPath: string | null = null;

  private tmux(args: string[]): Promise<string> {
    const env = { ...process.env };
    delete env.TMUX;
    delete env.TMUX_PANE;
    return run('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { env }).then((r) => r.stdout);
  }

  /** Starts `argv` (executed directly, no shell) in a cols x rows pane. */
  async start(argv: string[], cols = 80, rows = 24): Promise<void> {
    await this.tmux(['new-session', '-d', '-s', this.name, '-x', String(cols), '-y', String(rows), ...argv, ';', 'set-option', '-t', this.name, 'remain-on-exit', 'on']);
    const [socketPath, serverPid, pid] = (await this.tmux(['display-message', '-p', '-t', this.name, '#{socket_path}:#{pid}:#{pane_pid}'])).trim().split(':');
    this.socketPath = socketPath || null;
    this.serverPid = serverPid ? Number(serverPid) : null;
    this.pid = pid ? Number(pid) : null;
  }

  /** The visible pane, one line per row, trailing blanks trimmed by tmux. */
  async capture(): Promise<string> {
    this.lastScreen = await this.tmux(['capture-pane', '-p', '-t', this.name]);
    return this.lastScreen;
  }

  /** The whole pane history with wrapped lines joined: output that came before the pane settled at its size, or scrolled away. */
  async captureAll(): Promise<string> {
    this.lastScreen = await this.tmux(['capture-pane', '-p', '-J', '-S', '-', '-t', this.name]);
    return this.lastScreen;
  }

  /** Named keys (Enter, Tab, Down, Space, Escape) or single characters, one send-keys call each. */
  async keys(...keys: string[]): Promise<void> {
    for (const k of keys) {
      await this.tmux(['send-keys', '-t', this.name, k]);
      await sleep(60);
    }
  }

  /** Literal text (send-keys -l): arrives as one chunk, like a fast typist or a paste. */
  async type(text: string): Promise<void> {
    await this.tmux(['send-keys', '-t', this.name, '-l', text]);
  }

  /** Literal text and Enter in one tmux command, so they reach the program in one read (a paste, SSH). */
  async typeEnter(text: string): Promise<void> {
    await this.tmux(['send-keys', '-t', this.name, '-l', text, ';', 'send-keys', '-t', this.name, 'Enter']);
  }

  /**
   * The pane's process: dead or not, and once tmux has reaped it, its exit
   * status or the signal that ended it. (tmux marks the pane dead when the
   * pty closes, which can be a moment before the status is known.)
   */
  async paneState(): Promise<{ dead: boolean; status: number | null; signal: number | null }> {
    const out = (await this.tmux(['display-message', '-p', '-t', this.name, '#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}'])).trim();
    const [dead, status, signal] = out.split(':');
    return { dead: dead === '1', status: status ? Number(status) : null, signal: signal ? Number(signal) : null };
  }

  /**
   * Waits until the pane's process has exited and been reaped; returns its
   * state (still alive on timeout).
   *
   * A tmux built with libutempter can miss the SIGCHLD of a pane that exits
   * while utempter's own SIGCHLD handler is installed (it is, briefly, when
   * the pane's pty closes): the process stays a zombie and the status never
   * comes (tmux/tmux#311). Nudging our own server with SIGCHLD makes it run
   * its waitpid loop again; that signal ends nothing.
   */
  async waitForExit(timeoutMs = 10_000): Promise<{ dead: boolean; status: number | null; signal: number | null }> {
    const deadline = Date.now() + timeoutMs;
    let deadSince = 0;
    for (;;) {
      const state = await this.paneState();
      if ((state.dead && (state.status !== null || state.signal !== null)) || Date.now() > deadline) return state;
      if (state.dead) {
        deadSince ||= Date.now();
        if (Date.now() - deadSince > 300 && this.serverPid) {
          try {
            process.kill(this.serverPid, 'SIGCHLD');
          } catch {
            /* the server is gone */
          }
        }
        // Still not reaped after a second of nudging: read the zombie's exit code from /proc (Linux).
        if (Date.now() - deadSince > 1500) {
          const zombie = await zombieExit(this.pid);
          if (zombie) return { dead: true, ...zombie };
        }
      }
      await sleep(100);
    }
  }

  /**
   * Polls capture-pane every 100 ms until the screen contains `text` (or
   * matches it); returns that screen. Fails at once if `failOn` shows up, and
   * on timeout, with the last captured screen in the message.
   */
  async waitForScreen(text: string | RegExp, timeoutMs = 10_000, failOn: RegExp | null = /Error \(|Pane is dead/): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    const found = (s: string) => (typeof text === 'string' ? s.includes(text) : text.test(s));
    for (;;) {
      const screen = await this.capture().catch((e: Error) => `(capture-pane failed: ${e.message})`);
      if (found(screen)) return screen;
      if (failOn?.test(screen)) throw new Error(`waiting for ${String(text)}, the screen shows ${String(failOn)}:\n${frame(screen)}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${String(text)}; last screen:\n${frame(screen)}`);
      await sleep(100);
    }
  }

  /** Ends this private server (and the TUI in it) and removes its socket, which tmux leaves behind. */
  async kill(): Promise<void> {
    await this.tmux(['kill-server']).catch(() => undefined);
    if (this.socketPath) await fs.rm(this.socketPath, { force: true });
  }
}

/** The exit of a zombie process from /proc/PID/stat (field 52, exit_code, as waitpid reports it); null if not a zombie or not Linux. */
export async function zombieExit(pid: number | null): Promise<{ status: number | null; signal: number | null } | null> {
  if (!pid) return null;
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (!stat) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).trim().split(' '); // fields 3 onwards
  if (fields[0] !== 'Z' || fields.length < 50) return null;
  const code = Number(fields[49]);
  return code & 0x7f ? { status: null, signal: code & 0x7f } : { status: (code >> 8) & 0xff, signal: null };
}

/** A captured screen with a border, so blank lines and trailing space are visible in a failure message. */
export function frame(screen: string): string {
  const lines = screen.replace(/\n$/, '').split('\n');
  return ['+' + '-'.repeat(80) + '+', ...lines.map((l) => `|${l.padEnd(80)}|`), '+' + '-'.repeat(80) + '+'].join('\n');
}
