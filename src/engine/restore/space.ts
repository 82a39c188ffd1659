import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError, isAicoError, isNoSpace } from '../errors.js';

/** The deepest existing directory on the way to `p` (where a new target would be created). */
export async function nearestExisting(p: string): Promise<string> {
  for (let dir = path.resolve(p); ; dir = path.dirname(dir)) {
    if (await fs.stat(dir).then((s) => s.isDirectory(), () => false)) return dir;
    if (dir === path.dirname(dir)) return dir;
  }
}

/**
 * A target restore cannot write to is refused before the password is asked
 * for, with what the user can do; without this, a read-only target surfaced
 * as an unexplained ENOENT from mkdir.
 */
export async function refuseUnwritable(target: string, what = target): Promise<void> {
  const dir = await nearestExisting(target);
  try {
    await fs.access(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw targetIoError(error, what, dir);
  }
}

/** A file-system error on the restore target, as the user can act on it. */
export function targetIoError(error: unknown, target: string, at: string = target): AicoError {
  if (isAicoError(error)) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  const where = at === target ? target : `${target} (at ${at})`;
  if (code === 'EROFS') {
    return new AicoError('IO_ERROR', `Cannot restore into ${where}: its filesystem is mounted read-only. Nothing was changed.`, {
      hint: 'Remount it read-write, or choose another directory with --target.',
      cause: error,
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new AicoError('IO_ERROR', `Cannot restore into ${where}: no permission to write there. Nothing was changed.`, {
      hint: 'Choose a directory you own with --target, or fix the ownership and permissions of that one.',
      cause: error,
    });
  }
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new AicoError('IO_ERROR', `Cannot create ${where}: a parent is missing or not a directory. Nothing was changed.`, {
      hint: 'Check the path given with --target (or --home).',
      cause: error,
    });
  }
  if (isNoSpace(error)) return noSpaceError(target, error);
  return new AicoError('IO_ERROR', `${where}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

export function noSpaceError(target: string, cause: unknown): AicoError {
  const why = (cause as Error)?.message ? ` (${(cause as Error).message.split('\n')[0]})` : '';
  return new AicoError('NO_SPACE', `The disk filled up while restoring into ${target}${why}. The target was left as it was.`, {
    hint: 'Free some space there, or restore fewer databases with --database.',
    cause,
  });
}

const MiB = 1024 * 1024;
const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

/**
 * Databases whose validation works on a throwaway copy next to the staged
 * store (sources/chroma.ts: a Chroma server writes to the files it opens), and
 * what the engine may add to that copy while it runs. `twice`: files copied a
 * second time, at the same time (Chroma's SQLite files, checked beside the server).
 */
const VALIDATION_COPIES: Record<string, { extra: number; twice?: RegExp }> = {
  chromadb: { extra: 8 * MiB, twice: /(^|\/)chroma\.sqlite3(-journal|-wal)?$/ },
};
/** What opening a staged database may add beside it (libSQL -wal/-shm, LMDB lock.mdb). */
const OPEN_EXTRA = 1 * MiB;

export interface SpaceNeeds {
  target: string;
  /** Per selected unit, the sizes of the files it stages (path: in the archive). */
  files: { unit: string; size: number; path?: string }[];
  /** Database units among them (they are opened for validation). */
  databases: string[];
  /** Where the safety backup goes and the home paths it will copy; null: none. */
  safety: { dir: string; paths: string[] } | null;
}

/**
 * Refuses a restore that would fill a disk, counting everything it writes:
 * the staged files (rounded up to whole blocks), the throwaway copies its
 * validation makes, and the safety backup, on whichever filesystem each lands.
 * Peak use on the target is staging plus the larger of the validation copies
 * (gone once validated) and a safety backup written to the same filesystem.
 */
export async function refuseIfNoSpace(needs: SpaceNeeds): Promise<void> {
  const at = await nearestExisting(needs.target);
  const fsInfo = await fs.statfs(at).catch(() => null);
  if (!fsInfo) return;
  const block = fsInfo.bsize || 4096;
  const round = (n: number) => Math.ceil(n / block) * block;
  const staging = needs.files.reduce((sum, f) => sum + round(f.size), 0);
  let copies = 0;
  for (const [unit, { extra, twice }] of Object.entries(VALIDATION_COPIES)) {
    if (!needs.databases.includes(unit)) continue;
    const own = needs.files.filter((f) => f.unit === unit);
    copies += own.reduce((sum, f) => sum + round(f.size) * (twice && f.path && twice.test(f.path) ? 2 : 1), 0) + extra;
  }
  copies += needs.databases.length * OPEN_EXTRA;
  let safety = 0;
  let safetyElsewhere: { dir: string; bytes: number; free: number } | null = null;
  if (needs.safety) {
    const bytes = await safetyEstimate(needs.target, needs.safety.paths);
    const safetyAt = await nearestExisting(needs.safety.dir);
    const [a, b] = await Promise.all([fs.stat(at), fs.stat(safetyAt)]);
    if (a.dev === b.dev) safety = bytes;
    else {
      const s = await fs.statfs(safetyAt).catch(() => null);
      if (s) safetyElsewhere = { dir: needs.safety.dir, bytes, free: s.bavail * s.bsize };
    }
  }
  const needed = staging + Math.max(copies, safety);
  const free = fsInfo.bavail * fsInfo.bsize;
  if (needed > free) {
    const parts = [`${mib(staging)} to stage the backup's files`];
    if (copies) parts.push(`${mib(copies)} for the copies its databases are validated on`);
    if (safety) parts.push(`${mib(safety)} for the safety backup of what it replaces`);
    throw new AicoError('NO_SPACE', `Restoring into ${needs.target} needs ${mib(needed)} of free space there (${parts.join('; ')}, not all at once); ${mib(free)} is free. Nothing was changed.`, {
      hint: `Free ${mib(needed - free)} there, restore fewer databases with --database${safety ? ', or write the safety backup elsewhere with --output DIR' : ''}.`,
      details: { needed, free, staging, validation: copies, safety },
    });
  }
  if (safetyElsewhere && safetyElsewhere.bytes > safetyElsewhere.free) {
    throw new AicoError('NO_SPACE', `The safety backup of what this restore replaces needs up to ${mib(safetyElsewhere.bytes)} in ${safetyElsewhere.dir}; ${mib(safetyElsewhere.free)} is free. Nothing was changed.`, {
      hint: 'Free some space there, write it elsewhere with --output DIR, or skip it with --no-safety-backup.',
      details: { needed: safetyElsewhere.bytes, free: safetyElsewhere.free },
    });
  }
}

/** Upper bound of a safety backup of `paths`: their bytes (compression only shrinks them) plus tar headers and block hashes. */
async function safetyEstimate(target: string, paths: string[]): Promise<number> {
  let bytes = 0;
  let files = 0;
  for (const rel of paths) {
    const abs = path.join(target, rel);
    const st = await fs.lstat(abs).catch(() => null);
    if (!st) continue;
    if (st.isFile()) {
      bytes += st.size;
      files++;
      continue;
    }
    if (!st.isDirectory()) continue;
    for (const e of await fs.readdir(abs, { recursive: true, withFileTypes: true }).catch(() => [])) {
      if (!e.isFile()) continue;
      bytes += await fs.lstat(path.join(e.parentPath, e.name)).then((s) => s.size, () => 0);
      files++;
    }
  }
  return bytes === 0 ? 0 : Math.ceil(bytes * 1.01) + files * 1024 + MiB;
}
