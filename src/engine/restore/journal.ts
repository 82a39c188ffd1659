import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError } from '../errors.js';
import { pathExists, syncDir } from '../fsutil/atomic-file.js';
import { isAlive, LOCK_NAME } from '../fsutil/lock.js';
import { maybeCrash } from './fault.js';

/**
 * Swaps staged units into the target as one transaction. Before the first
 * rename, a journal lists every path, whether it existed, and where the old
 * one goes; each path then moves with rename(2), which is atomic. If the
 * process dies half way, the next restore (or any run of recover()) reads the
 * journal and puts every old path back, so each unit is wholly old or wholly
 * restored, never mixed. Once all renames are done the journal is marked
 * committed and only then are the old copies deleted.
 */
export const JOURNAL_NAME = '.aico-restore.journal';

interface JournalEntry {
  path: string;
  existed: boolean;
  staged: boolean;
}

interface Journal {
  pid: number;
  state: 'swapping' | 'committed';
  /** Directories relative to the target. */
  old: string;
  staging: string;
  entries: JournalEntry[];
  /** What was being restored, so a refusal can name the command that finishes it (absent in older journals). */
  restoring?: RestoringWhat;
}

export interface RestoringWhat {
  archive: string;
  units: string[];
  /** Restored into the AICO home itself (else into a --target). */
  inPlace: boolean;
}

/** Replaces the journal atomically (write, fsync, rename over), so a crash leaves the old state or the new one. */
async function writeJournal(target: string, journal: Journal): Promise<void> {
  const file = path.join(target, JOURNAL_NAME);
  // Named like a partial file, so a run killed mid-write leaves nothing the next lock holder does not clean up.
  const tmp = `${file}.${process.pid}.partial`;
  const handle = await fs.open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(JSON.stringify(journal));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
  await syncDir(target);
}

export interface SwapOptions {
  target: string;
  /** Staging directory (inside the target) laid out like the home. */
  staging: string;
  /** Home-relative paths to replace. */
  paths: string[];
  restoring?: RestoringWhat;
}

export interface SwapResult {
  replaced: string[];
  added: string[];
  removed: string[];
}

export async function swapIn(opts: SwapOptions): Promise<SwapResult> {
  const oldDir = `.aico-restore.${process.pid}.old`;
  const entries: JournalEntry[] = [];
  for (const p of opts.paths) {
    const existed = await pathExists(path.join(opts.target, p));
    const staged = await pathExists(path.join(opts.staging, p));
    if (existed || staged) entries.push({ path: p, existed, staged });
  }
  const journal: Journal = { pid: process.pid, state: 'swapping', old: oldDir, staging: path.relative(opts.target, opts.staging), entries, ...(opts.restoring ? { restoring: opts.restoring } : {}) };
  // Journal first: a crash before it leaves no trace, a crash after it is rolled back from it.
  await writeJournal(opts.target, journal);
  await fs.mkdir(path.join(opts.target, oldDir), { mode: 0o700 });
  maybeCrash('swap:0');
  try {
    let step = 0;
    for (const e of entries) {
      const live = path.join(opts.target, e.path);
      if (e.existed) {
        const aside = path.join(opts.target, oldDir, e.path);
        await fs.mkdir(path.dirname(aside), { recursive: true, mode: 0o700 });
        await fs.rename(live, aside);
      }
      maybeCrash(`swap:${++step}`);
      if (e.staged) {
        await fs.mkdir(path.dirname(live), { recursive: true, mode: 0o700 });
        await fs.rename(path.join(opts.staging, e.path), live);
      }
      maybeCrash(`swap:${++step}`);
    }
    for (const dir of new Set(entries.map((e) => path.dirname(path.join(opts.target, e.path))))) await syncDir(dir).catch(() => {});
  } catch (error) {
    await rollBack(opts.target, journal);
    throw error;
  }
  journal.state = 'committed';
  await writeJournal(opts.target, journal);
  maybeCrash('commit');
  await finish(opts.target, journal);
  return {
    replaced: entries.filter((e) => e.existed && e.staged).map((e) => e.path),
    added: entries.filter((e) => !e.existed && e.staged).map((e) => e.path),
    removed: entries.filter((e) => e.existed && !e.staged).map((e) => e.path),
  };
}

async function rollBack(target: string, journal: Journal): Promise<void> {
  for (const e of [...journal.entries].reverse()) {
    const live = path.join(target, e.path);
    const aside = path.join(target, journal.old, e.path);
    if (await pathExists(aside)) {
      await fs.rm(live, { recursive: true, force: true });
      await fs.rename(aside, live);
    } else if (!e.existed) {
      await fs.rm(live, { recursive: true, force: true });
    }
  }
  await finish(target, journal);
}

async function finish(target: string, journal: Journal): Promise<void> {
  await fs.rm(path.join(target, journal.old), { recursive: true, force: true });
  await fs.rm(path.join(target, journal.staging), { recursive: true, force: true });
  await fs.rm(path.join(target, JOURNAL_NAME), { force: true });
  await syncDir(target).catch(() => {});
}

/**
 * Finishes what an interrupted restore left: a committed swap keeps the
 * restored data, anything earlier is rolled back. Returns what was done, or
 * null when there was nothing to recover.
 */
export async function recoverInterrupted(target: string): Promise<'rolled-back' | 'completed' | null> {
  let journal: Journal;
  try {
    journal = JSON.parse(await fs.readFile(path.join(target, JOURNAL_NAME), 'utf8')) as Journal;
  } catch {
    return null;
  }
  if (journal.state === 'committed') {
    await finish(target, journal);
    return 'completed';
  }
  await rollBack(target, journal);
  return 'rolled-back';
}

/**
 * Journals of operations that change a home in several steps. While one is
 * present the home is half old, half new: nothing may read it as a whole.
 * A migration that journals its steps adds its name here.
 */
export const HOME_JOURNALS: readonly { name: string; op: string }[] = [{ name: JOURNAL_NAME, op: 'restore' }];

/**
 * Refuses (HOME_INCOMPLETE) a home that holds the journal of an unfinished
 * operation, with the command that finishes it. create calls this before
 * reading a home, and a restore --dry-run (a preview must not recover).
 */
export async function refuseIncompleteHome(home: string): Promise<void> {
  for (const { name, op } of HOME_JOURNALS) {
    const file = path.join(home, name);
    if (!(await pathExists(file))) continue;
    const journal = await fs.readFile(file, 'utf8').then((t) => JSON.parse(t) as Partial<Journal>, () => ({}) as Partial<Journal>);
    // A pid alone may have been reused since a crash; a live run also still holds the directory's lock.
    const lock = await fs.readFile(path.join(home, LOCK_NAME), 'utf8').then((t) => JSON.parse(t) as { pid?: number }, () => null);
    const running = typeof journal.pid === 'number' && journal.pid !== process.pid && lock?.pid === journal.pid && isAlive(journal.pid);
    throw new AicoError(
      'HOME_INCOMPLETE',
      running
        ? `A ${op} is changing ${home} right now (pid ${journal.pid}); its data is half old, half new until it finishes.`
        : `${home} holds an unfinished ${op} (${name}): it was interrupted ${journal.state === 'committed' ? 'after its data was swapped in, before it cleaned up' : 'while swapping its data in'}, so the home is a mix of old and new data. Nothing was read or written.`,
      { hint: running ? `Wait for that ${op} to finish, then run this again.` : finishHint(home, journal) },
    );
  }
}

function finishHint(home: string, journal: Partial<Journal>): string {
  const r = journal.restoring;
  const outcome = journal.state === 'committed' ? 'completes it (its data is already in place)' : 'first puts every old file back';
  if (!r) return `Any "aico backup restore FILE --target ${quote(home)} --force" into it ${outcome}, then restores FILE. Until then, do not start AICO on it.`;
  const where = r.inPlace ? `--home ${quote(home)}` : `--target ${quote(home)} --force`;
  const only = r.units.length ? ` --database ${r.units.join(',')}` : '';
  return `Run the interrupted restore again: aico backup restore ${quote(r.archive)} ${where}${only}\n  It ${outcome}, then restores ${path.basename(r.archive)} as asked. Until then, do not start AICO on it.`;
}

const quote = (p: string) => (/^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replaceAll("'", `'\\''`)}'`);

