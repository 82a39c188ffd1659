import { lstatSync, mkdirSync, readFileSync, unlinkSync, writeFileSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Chroma validation servers die with the process that started them (see
 * chroma-child.ts). Should one survive anyway, its pid is recorded here, in
 * a directory only this user can write, and the next validation server
 * start stops it. A record is trusted only as far as /proc confirms it: the
 * same pid with the same start time, running our chroma-child script, and
 * an owner that is gone (two aico runs at once each keep their own server).
 */

interface Proc {
  pid: number;
  /** Field 22 of /proc/PID/stat: start time in clock ticks since boot; with the pid, unique until reboot. */
  start: string;
}

interface ServerRecord extends Proc {
  owner: Proc;
  /** The throwaway copy the server ran on. */
  dir: string;
}

const CHILD_SCRIPT = /(^|\/)chroma-child\.(js|ts)$/;
/** Names of the throwaway copies chroma.ts makes; only those are removed with a dead server. */
const THROWAWAY = /^\.?(aico-)?chroma-validate-/;

function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; the fields after its last ')' do not.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function sameProcess(p: Proc): boolean {
  return startTime(p.pid) === p.start;
}

function isChromaChild(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => CHILD_SCRIPT.test(arg));
  } catch {
    return false;
  }
}

/**
 * Set for a check run in a user namespace (chroma-check.ts), where this user
 * is root: the runtime directory its parent chose, or empty for none.
 */
export const RUNTIME_DIR_ENV = 'AICO_CHROMA_RUNTIME_DIR';

/**
 * $XDG_RUNTIME_DIR/aico-backup, else /tmp/aico-backup-UID, made 0700. Null when
 * it is not a real directory owned by this user and closed to others (another
 * user could have planted it in /tmp), or there is no /proc to check records.
 */
export function runtimeDir(): string | null {
  const uid = process.getuid?.();
  if (uid === undefined || startTime(process.pid) === null) return null;
  const given = process.env[RUNTIME_DIR_ENV];
  const base = process.env.XDG_RUNTIME_DIR;
  const dir = given !== undefined ? given : base && path.isAbsolute(base) ? path.join(base, 'aico-backup') : path.join(os.tmpdir(), `aico-backup-${uid}`);
  if (!path.isAbsolute(dir)) return null;
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return null;
  }
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0 ? dir : null;
  } catch {
    return null;
  }
}

/**
 * Records a server started by `owner` (this process by default). Returns the
 * function that forgets it once it is stopped; synchronous, so it also works
 * from an 'exit' handler.
 */
export function recordServer(pid: number, dir: string, owner?: Proc): () => void {
  const runtime = runtimeDir();
  const start = startTime(pid);
  const self = owner ?? { pid: process.pid, start: startTime(process.pid) ?? '' };
  if (!runtime || start === null) return () => {};
  const file = path.join(runtime, `chroma-${pid}.json`);
  const record: ServerRecord = { pid, start, owner: self, dir };
  try {
    writeFileSync(file, JSON.stringify(record), { mode: 0o600 });
  } catch {
    return () => {};
  }
  return () => {
    try {
      unlinkSync(file);
    } catch {
      /* already gone */
    }
  };
}

/** Stops the recorded servers whose owner is gone, removes their throwaway copies; returns the pids killed. */
export async function reapLeftovers(): Promise<number[]> {
  const runtime = runtimeDir();
  if (!runtime) return [];
  const killed: number[] = [];
  for (const name of await fs.readdir(runtime).catch(() => [] as string[])) {
    if (!/^chroma-\d+\.json$/.test(name)) continue;
    const file = path.join(runtime, name);
    let record: ServerRecord;
    try {
      record = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch {
      await fs.rm(file, { force: true });
      continue;
    }
    if (record.owner && sameProcess(record.owner)) continue;
    // A server killed here, on the copy it was validating, loses nothing.
    if (sameProcess(record) && isChromaChild(record.pid)) {
      try {
        process.kill(record.pid, 'SIGKILL');
        killed.push(record.pid);
      } catch {
        /* exited meanwhile */
      }
    }
    if (typeof record.dir === 'string' && path.isAbsolute(record.dir) && THROWAWAY.test(path.basename(record.dir))) {
      await fs.rm(record.dir, { recursive: true, force: true }).catch(() => {});
    }
    await fs.rm(file, { force: true });
  }
  return killed;
}
