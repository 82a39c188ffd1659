import { hostname } from 'node:os';
import { constants, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { AicoError, fromFsError } from '../errors.js';
import { partialOwnerPid, PARTIAL_SUFFIX } from './atomic-file.js';

/**
 * One writer per backup directory. proper-lockfile (the usual choice) judges
 * staleness by mtime age, so after a crash the next run would wait out the
 * stale period; a backup lock knows its owner's pid, so a dead owner is
 * detected at once and its lock and partial files are cleaned up.
 */
export const LOCK_NAME = '.aico-backup.lock';

interface LockInfo {
  pid: number;
  host: string;
  op: string;
  started: string;
}

export interface DirLock {
  /** The directory it locks. */
  readonly dir: string;
  /** Whether the lock file still names this process (a lock file removed or taken over by hand no longer does). */
  isHeld(): Promise<boolean>;
  release(): Promise<void>;
  /** Set when a stale lock was taken over: a sentence for the user. */
  takeover: string | null;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/**
 * A killed process whose parent died too waits as a zombie until PID 1 reaps
 * it, which in a container may be never; it holds nothing any more.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

async function readLock(file: string): Promise<LockInfo | null> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as LockInfo;
  } catch {
    return null;
  }
}

async function isFresh(file: string): Promise<boolean> {
  const stat = await fs.stat(file).catch(() => null);
  return stat !== null && Date.now() - stat.mtimeMs < 5_000;
}

async function removeDeadPartials(dir: string): Promise<void> {
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const pid = partialOwnerPid(name);
    if (name.includes(PARTIAL_SUFFIX) && pid !== null && !isAlive(pid)) {
      await fs.rm(path.join(dir, name), { force: true, recursive: true });
    }
  }
}

/** `name`: another lock in the same directory (the scheduler's, beside a home's). */
export async function acquireDirLock(dir: string, op: string, name: string = LOCK_NAME): Promise<DirLock> {
  const file = path.join(dir, name);
  const me: LockInfo = { pid: process.pid, host: hostname(), op, started: new Date().toISOString() };
  let takeover: string | null = null;
  for (let attempt = 0; attempt < 30; attempt++) {
    try {
      const handle = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      await handle.writeFile(JSON.stringify(me));
      await handle.close();
      await removeDeadPartials(dir);
      return {
        dir,
        takeover,
        async isHeld() {
          const current = await readLock(file);
          return current?.pid === me.pid && current.started === me.started;
        },
        async release() {
          const current = await readLock(file);
          if (current?.pid === me.pid) await fs.rm(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw fromFsError(error, file);
    }
    const owner = await readLock(file);
    if (!owner && (await isFresh(file))) {
      // Another process created it and has not written its record yet.
      await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    const sameHost = owner?.host === me.host;
    if (owner && (!sameHost || isAlive(owner.pid))) {
      throw new AicoError('LOCKED', `Another aico-backup (${owner.op}, pid ${owner.pid} on ${owner.host}, since ${owner.started}) is writing to ${dir}.`, {
        hint: sameHost
          ? 'Wait for it to finish, or stop that process.'
          : `If no aico-backup runs on ${owner.host}, delete ${file}.`,
      });
    }
    takeover = owner
      ? `Took over a stale lock of pid ${owner.pid} (no longer running) in ${dir}.`
      : `Removed an unreadable lock file in ${dir}.`;
    await fs.rm(file, { force: true });
  }
  throw new AicoError('LOCKED', `Could not take the lock in ${dir}.`, { hint: 'Try again in a moment.' });
}
