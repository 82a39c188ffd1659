import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AicoError } from '../errors.js';
import { ensurePrivateDir, replaceFile } from '../fsutil/atomic-file.js';

const run = promisify(execFile);

export type InstallMethod = 'systemd' | 'cron';

export interface InstallOptions {
  home: string;
  /** The command that runs aico: [node, /path/to/bin/aico.js]. */
  command: string[];
  /** systemd when it runs for this user, else cron. */
  method?: InstallMethod | 'auto';
  /** How often run-due is started: "15m" (default), "1m" .. "59m", "1h" .. "24h". */
  every?: string;
  env?: NodeJS.ProcessEnv;
}

export interface InstallResult {
  method: InstallMethod;
  /** The files written (systemd units) or the crontab line added. */
  installed: string[];
  every: string;
  /** Things the user should know: lingering off, no keyring in cron's environment. */
  notes: string[];
}

/** One timer per home, named from it, so two homes can each have theirs and uninstall removes only its own. */
export function unitName(home: string): string {
  return `aico-backup-schedule-${createHash('sha256').update(path.resolve(home)).digest('hex').slice(0, 8)}`;
}

const CRON_MARK = (home: string) => `# aico-backup schedule ${path.resolve(home)}`;
const shellQuote = (s: string) => (/^[\w./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

function parseEvery(every: string): { minutes: number } {
  const m = /^(\d+)(m|h)$/.exec(every.trim());
  const minutes = m ? Number(m[1]) * (m[2] === 'h' ? 60 : 1) : NaN;
  if (!m || minutes < 1 || (m[2] === 'm' && minutes > 59) || (m[2] === 'h' && (Number(m[1]) < 1 || Number(m[1]) > 24))) {
    throw new AicoError('USAGE', `--every "${every}" is not an interval the timer can use.`, { hint: 'Give minutes (1m .. 59m) or hours (1h .. 24h); the default is 15m.' });
  }
  return { minutes };
}

export function systemdUnits(home: string, command: string[], every: string): { service: string; timer: string } {
  const { minutes } = parseEvery(every);
  const exec = [...command, '--home', path.resolve(home), 'backup', 'schedule', 'run-due'].map(shellQuote).join(' ');
  const onCalendar = minutes < 60 ? `*:0/${minutes}` : minutes === 1440 ? 'daily' : `0/${minutes / 60}:00`;
  const service = `[Unit]
Description=aico-backup: run the due backup schedules of ${path.resolve(home)}

[Service]
Type=oneshot
ExecStart=${exec}
# A backup should not slow the companion it protects down.
Nice=19
CPUSchedulingPolicy=batch
IOSchedulingClass=idle
`;
  const timer = `[Unit]
Description=aico-backup: check the backup schedules of ${path.resolve(home)} every ${every}

[Timer]
OnCalendar=${onCalendar}
# Runs missed while the machine was off or asleep are caught up at the next start.
Persistent=true
RandomizedDelaySec=60

[Install]
WantedBy=timers.target
`;
  return { service, timer };
}

export function cronLine(home: string, command: string[], every: string): string {
  const { minutes } = parseEvery(every);
  const when = minutes < 60 ? `*/${minutes} * * * *` : minutes === 1440 ? '0 0 * * *' : `0 */${minutes / 60} * * *`;
  const exec = ['nice', '-n', '19', ...command, '--home', path.resolve(home), 'backup', 'schedule', 'run-due'].map(shellQuote).join(' ');
  // run-due writes each outcome to the home's backup.log; cron's mail would only repeat it.
  return `${when} ${exec} >/dev/null 2>&1 ${CRON_MARK(home)}`;
}

const userUnitDir = (env: NodeJS.ProcessEnv) => path.join(env.XDG_CONFIG_HOME || path.join(homedir(), '.config'), 'systemd', 'user');

/** Whether a systemd user manager answers for this user. */
async function systemdRuns(): Promise<boolean> {
  try {
    const { stdout } = await run('systemctl', ['--user', 'is-system-running'], { timeout: 5000 });
    return /running|degraded|starting/.test(stdout);
  } catch (error) {
    return /running|degraded|starting/.test(String((error as { stdout?: string }).stdout ?? ''));
  }
}

async function lingerOff(): Promise<boolean> {
  try {
    const { stdout } = await run('loginctl', ['show-user', process.env.USER ?? String(process.getuid?.() ?? ''), '-p', 'Linger'], { timeout: 5000 });
    return /Linger=no/.test(stdout);
  } catch {
    return false;
  }
}

async function readCrontab(): Promise<string> {
  try {
    return (await run('crontab', ['-l'], { timeout: 10_000 })).stdout;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new AicoError('NOT_FOUND', 'There is no crontab command on this machine.', { hint: 'Install cron (Debian: apt-get install cron), or run "aico backup schedule run-due" from another scheduler.' });
    if (/no crontab for/.test(e.stderr ?? '')) return '';
    throw new AicoError('IO_ERROR', `crontab -l failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

async function writeCrontab(text: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('crontab', ['-'], { timeout: 10_000 }, (error, _out, stderr) => (error ? reject(new AicoError('IO_ERROR', `crontab - failed: ${(stderr || error.message).trim()}`)) : resolve()));
    child.stdin!.end(text);
  });
}

const withoutOurs = (crontab: string, home: string) =>
  crontab
    .split('\n')
    .filter((l) => !l.endsWith(CRON_MARK(home)))
    .join('\n')
    .replace(/\n*$/, '\n');

/** Sets up the system timer that starts `run-due`: a systemd user timer where systemd runs for the user, else a crontab entry. */
export async function installSchedule(opts: InstallOptions): Promise<InstallResult> {
  const env = opts.env ?? process.env;
  const every = opts.every ?? '15m';
  parseEvery(every);
  const method: InstallMethod = opts.method && opts.method !== 'auto' ? opts.method : (await systemdRuns()) ? 'systemd' : 'cron';
  const notes: string[] = [];
  if (method === 'systemd') {
    const dir = userUnitDir(env);
    await ensurePrivateDir(dir);
    const name = unitName(opts.home);
    const { service, timer } = systemdUnits(opts.home, opts.command, every);
    const files = [path.join(dir, `${name}.service`), path.join(dir, `${name}.timer`)];
    await replaceFile(files[0]!, service, 0o644);
    await replaceFile(files[1]!, timer, 0o644);
    await run('systemctl', ['--user', 'daemon-reload'], { timeout: 20_000 });
    await run('systemctl', ['--user', 'enable', '--now', `${name}.timer`], { timeout: 20_000 });
    if (await lingerOff()) notes.push('Lingering is off: the timer runs only while you are logged in. To back up while logged out: loginctl enable-linger');
    return { method, installed: files, every, notes };
  }
  const line = cronLine(opts.home, opts.command, every);
  const current = await readCrontab();
  await writeCrontab(`${withoutOurs(current, opts.home)}${line}\n`.replace(/^\n/, ''));
  notes.push('cron runs without your desktop session: the backup password must come from the schedule\'s password file, and AICO\'s master key from a keyring cron can reach (or leave libsql out of the schedule).');
  return { method, installed: [line], every, notes };
}

/** Removes exactly what installSchedule made for this home (both kinds, whichever exist). */
export async function uninstallSchedule(opts: { home: string; env?: NodeJS.ProcessEnv }): Promise<{ removed: string[] }> {
  const removed: string[] = [];
  const dir = userUnitDir(opts.env ?? process.env);
  const name = unitName(opts.home);
  const files = [path.join(dir, `${name}.timer`), path.join(dir, `${name}.service`)];
  if (await fs.stat(files[0]!).then(() => true, () => false)) {
    await run('systemctl', ['--user', 'disable', '--now', `${name}.timer`], { timeout: 20_000 }).catch(() => {});
    for (const f of files) if (await fs.rm(f).then(() => true, () => false)) removed.push(f);
    await run('systemctl', ['--user', 'daemon-reload'], { timeout: 20_000 }).catch(() => {});
  }
  const current = await readCrontab().catch(() => null);
  if (current !== null) {
    const ours = current.split('\n').filter((l) => l.endsWith(CRON_MARK(opts.home)));
    if (ours.length > 0) {
      const rest = withoutOurs(current, opts.home);
      await writeCrontab(rest.trim() === '' ? '' : rest);
      removed.push(...ours);
    }
  }
  return { removed };
}

/** Whether a timer is installed for this home, and which. */
export async function installedMethod(opts: { home: string; env?: NodeJS.ProcessEnv }): Promise<InstallMethod | null> {
  const timer = path.join(userUnitDir(opts.env ?? process.env), `${unitName(opts.home)}.timer`);
  if (await fs.stat(timer).then(() => true, () => false)) return 'systemd';
  const current = await readCrontab().catch(() => '');
  return current.split('\n').some((l) => l.endsWith(CRON_MARK(opts.home))) ? 'cron' : null;
}
