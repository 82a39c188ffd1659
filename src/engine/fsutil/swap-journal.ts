import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError } from '../errors.js';
import { pathExists, replaceFile, syncDir } from './atomic-file.js';
import { maybeCrash } from './fault.js';
import { isAlive, LOCK_NAME } from './lock.js';

/**
 * Replaces several paths inside one directory as one transaction that a crash
 * cannot leave half done. Before the first rename, a journal file in the
 * directory lists every path, whether it existed, and what replaces it; each
 * path then moves with rename(2), which is atomic: the old one aside, the
 * replacement in. If the process dies half way, recovery (finishSwap) reads
 * the journal and puts every old path back, so each path is wholly old or
 * wholly new, never mixed. Once all renames are done the journal is marked
 * committed and only then are the old copies deleted; a crash after that
 * point is completed instead of rolled back.
 *
 * The caller holds the directory's lock (fsutil/lock.ts) across the swap and
 * across recovery: the journal's temporary file is named like a partial file,
 * which the next lock holder removes.
 *
 * Crash points for tests (fault.ts): 'swap:0' after the journal is written,
 * 'swap:N' after each of the two renames of every path, 'commit' after the
 * commit record.
 */

export interface SwapPair {
  /** The path to replace, relative to the root. */
  path: string;
  /** What takes its place, relative to the root (it must exist); null: the path is removed. */
  replacement: string | null;
}

export interface SwapEntry {
  path: string;
  existed: boolean;
  replacement: string | null;
}

export interface SwapJournal<X = unknown> {
  pid: number;
  state: 'swapping' | 'committed';
  /** Where the old paths wait until the swap is committed (relative to the root). */
  aside: string;
  entries: SwapEntry[];
  /** Removed once the swap is finished or rolled back, e.g. where the replacements were staged (relative to the root). */
  cleanup: string[];
  /** What the caller records for whoever finds the journal, e.g. the command that finishes it. */
  extra?: X;
}

export interface SwapSpec<X> {
  root: string;
  /** The journal's file name in the root. */
  journal: string;
  /** A new directory name in the root for the old paths. */
  aside: string;
  pairs: SwapPair[];
  cleanup?: string[];
  extra?: X;
}

export interface SwapOutcome {
  replaced: string[];
  added: string[];
  removed: string[];
}

/** Replaces the journal atomically (write, fsync, rename over), so a crash leaves the old record or the new one. */
async function writeJournal(root: string, name: string, journal: SwapJournal): Promise<void> {
  await replaceFile(path.join(root, name), JSON.stringify(journal));
}

function checkRelative(p: string): void {
  if (path.isAbsolute(p) || p.split(/[\\/]/).includes('..') || path.normalize(p) === '.') {
    throw new AicoError('INTERNAL', `A journaled swap takes paths inside its directory, not "${p}".`);
  }
}

export async function swapPaths<X>(spec: SwapSpec<X>): Promise<SwapOutcome> {
  const { root } = spec;
  const entries: SwapEntry[] = [];
  for (const pair of spec.pairs) {
    checkRelative(pair.path);
    if (pair.replacement !== null) {
      checkRelative(pair.replacement);
      // A missing replacement would silently turn a replace into a delete.
      if (!(await pathExists(path.join(root, pair.replacement)))) throw new AicoError('INTERNAL', `${path.join(root, pair.replacement)} is missing; nothing was swapped.`);
    }
    const existed = await pathExists(path.join(root, pair.path));
    if (existed || pair.replacement !== null) entries.push({ path: pair.path, existed, replacement: pair.replacement });
  }
  for (const p of [spec.aside, ...(spec.cleanup ?? [])]) checkRelative(p);
  const journal: SwapJournal<X> = { pid: process.pid, state: 'swapping', aside: spec.aside, entries, cleanup: spec.cleanup ?? [], ...(spec.extra === undefined ? {} : { extra: spec.extra }) };
  // Journal first: a crash before it leaves no trace, a crash after it is rolled back from it.
  await writeJournal(root, spec.journal, journal);
  await fs.mkdir(path.join(root, spec.aside), { mode: 0o700 });
  maybeCrash('swap:0');
  try {
    let step = 0;
    for (const e of entries) {
      const live = path.join(root, e.path);
      if (e.existed) {
        const aside = path.join(root, spec.aside, e.path);
        await fs.mkdir(path.dirname(aside), { recursive: true, mode: 0o700 });
        await fs.rename(live, aside);
      }
      maybeCrash(`swap:${++step}`);
      if (e.replacement !== null) {
        await fs.mkdir(path.dirname(live), { recursive: true, mode: 0o700 });
        await fs.rename(path.join(root, e.replacement), live);
      }
      maybeCrash(`swap:${++step}`);
    }
    for (const dir of new Set(entries.map((e) => path.dirname(path.join(root, e.path))))) await syncDir(dir).catch(() => {});
  } catch (error) {
    await rollBack(root, spec.journal, journal);
    throw error;
  }
  journal.state = 'committed';
  await writeJournal(root, spec.journal, journal);
  maybeCrash('commit');
  await finish(root, spec.journal, journal);
  return {
    replaced: entries.filter((e) => e.existed && e.replacement !== null).map((e) => e.path),
    added: entries.filter((e) => !e.existed && e.replacement !== null).map((e) => e.path),
    removed: entries.filter((e) => e.existed && e.replacement === null).map((e) => e.path),
  };
}

/** rm -rf that also takes "a parent is not a directory" for "nothing there" (force covers only ENOENT). */
async function removeAny(p: string): Promise<void> {
  await fs.rm(p, { recursive: true, force: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOTDIR') throw error;
  });
}

async function rollBack(root: string, name: string, journal: SwapJournal): Promise<void> {
  for (const e of [...journal.entries].reverse()) {
    const live = path.join(root, e.path);
    const aside = path.join(root, journal.aside, e.path);
    if (await pathExists(aside)) {
      await removeAny(live);
      await fs.rename(aside, live);
    } else if (!e.existed) {
      // The path whose rename failed may lie under something that is not a directory.
      await removeAny(live);
    }
  }
  await finish(root, name, journal);
}

async function finish(root: string, name: string, journal: SwapJournal): Promise<void> {
  await fs.rm(path.join(root, journal.aside), { recursive: true, force: true });
  for (const dir of journal.cleanup) await fs.rm(path.join(root, dir), { recursive: true, force: true });
  await fs.rm(path.join(root, name), { force: true });
  await syncDir(root).catch(() => {});
}

/** The journal `name` in `root` as written, or null when there is none (or it cannot be read). */
export async function readSwapJournal(root: string, name: string): Promise<Record<string, unknown> | null> {
  try {
    const parsed: unknown = JSON.parse(await fs.readFile(path.join(root, name), 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Finishes what an interrupted swap left, from its journal: a committed swap
 * keeps the new paths, anything earlier is rolled back.
 */
export async function finishSwap(root: string, name: string, journal: SwapJournal): Promise<'rolled-back' | 'completed'> {
  if (journal.state === 'committed') {
    await finish(root, name, journal);
    return 'completed';
  }
  await rollBack(root, name, journal);
  return 'rolled-back';
}

/** Recovers the swap journaled as `name` in `root`; null when there was nothing to recover. */
export async function recoverSwap(root: string, name: string): Promise<'rolled-back' | 'completed' | null> {
  const journal = await readSwapJournal(root, name);
  return journal ? finishSwap(root, name, journal as unknown as SwapJournal) : null;
}

/** A kind of journal that marks a directory as half changed, and what to tell the user about it. */
export interface JournalKind {
  /** The journal's file name. */
  name: string;
  /** The operation that writes it, as the user knows it ("restore"). */
  op: string;
  /** The command (or step) that finishes an interrupted one, from what its journal recorded. */
  finishHint(dir: string, journal: Partial<SwapJournal>): string;
}

/**
 * Refuses (HOME_INCOMPLETE) a directory that holds the journal of an
 * unfinished swap of one of `kinds`, saying whether it is still running and
 * how to finish it. Reads only: a reader must not recover behind the back of
 * the operation that owns the journal.
 */
export async function refuseIncomplete(dir: string, kinds: readonly JournalKind[]): Promise<void> {
  for (const kind of kinds) {
    if (!(await pathExists(path.join(dir, kind.name)))) continue;
    const journal = ((await readSwapJournal(dir, kind.name)) ?? {}) as Partial<SwapJournal>;
    // A pid alone may have been reused since a crash; a live run also still holds the directory's lock.
    const lock = await fs.readFile(path.join(dir, LOCK_NAME), 'utf8').then((t) => JSON.parse(t) as { pid?: number }, () => null);
    const running = typeof journal.pid === 'number' && journal.pid !== process.pid && lock?.pid === journal.pid && isAlive(journal.pid);
    const { op, name } = kind;
    throw new AicoError(
      'HOME_INCOMPLETE',
      running
        ? `A ${op} is changing ${dir} right now (pid ${journal.pid}); its data is half old, half new until it finishes.`
        : `${dir} holds an unfinished ${op} (${name}): it was interrupted ${journal.state === 'committed' ? 'after its data was swapped in, before it cleaned up' : 'while swapping its data in'}, so the home is a mix of old and new data. Nothing was read or written.`,
      { hint: running ? `Wait for that ${op} to finish, then run this again.` : kind.finishHint(dir, journal) },
    );
  }
}
