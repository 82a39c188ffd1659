import path from 'node:path';
import { pathExists } from '../fsutil/atomic-file.js';
import {
  finishSwap,
  readSwapJournal,
  refuseIncomplete,
  swapPaths,
  type JournalKind,
  type SwapJournal,
  type SwapOutcome,
} from '../fsutil/swap-journal.js';

/**
 * Restore's use of the journaled swap (fsutil/swap-journal.ts): the staged
 * units replace the target's as one transaction, journaled in the target as
 * `.aico-restore.journal`, which also records what was being restored so a
 * refusal can name the command that finishes it.
 */
export const JOURNAL_NAME = '.aico-restore.journal';

export interface RestoringWhat {
  archive: string;
  units: string[];
  /** Restored into the AICO home itself (else into a --target). */
  inPlace: boolean;
}

export interface SwapOptions {
  target: string;
  /** Staging directory (inside the target) laid out like the home. */
  staging: string;
  /** Home-relative paths to replace: by their staged copy, or removed when staging has none. */
  paths: string[];
  restoring?: RestoringWhat;
}

export async function swapIn(opts: SwapOptions): Promise<SwapOutcome> {
  const staging = path.relative(opts.target, opts.staging);
  const pairs = [];
  for (const p of opts.paths) {
    const staged = await pathExists(path.join(opts.staging, p));
    pairs.push({ path: p, replacement: staged ? path.join(staging, p) : null });
  }
  return swapPaths({
    root: opts.target,
    journal: JOURNAL_NAME,
    aside: `.aico-restore.${process.pid}.old`,
    pairs,
    cleanup: [staging],
    ...(opts.restoring ? { extra: opts.restoring } : {}),
  });
}

/**
 * The journal as the generic swap reads it. Journals written before the swap
 * was generic named the old-copies directory `old`, kept the staging directory
 * apart and marked staged entries with `staged`.
 */
function upgrade(raw: Record<string, unknown>): SwapJournal<RestoringWhat> {
  if (typeof raw.aside === 'string') return raw as unknown as SwapJournal<RestoringWhat>;
  const staging = String(raw.staging);
  const entries = (raw.entries as { path: string; existed: boolean; staged: boolean }[]).map((e) => ({
    path: e.path,
    existed: e.existed,
    replacement: e.staged ? path.join(staging, e.path) : null,
  }));
  return { pid: raw.pid as number, state: raw.state as SwapJournal['state'], aside: String(raw.old), entries, cleanup: [staging], extra: raw.restoring as RestoringWhat | undefined };
}

/**
 * Finishes what an interrupted restore left: a committed swap keeps the
 * restored data, anything earlier is rolled back. Returns what was done, or
 * null when there was nothing to recover.
 */
export async function recoverInterrupted(target: string): Promise<'rolled-back' | 'completed' | null> {
  const raw = await readSwapJournal(target, JOURNAL_NAME);
  return raw ? finishSwap(target, JOURNAL_NAME, upgrade(raw)) : null;
}

function finishHint(home: string, journal: Partial<SwapJournal>): string {
  const r = (journal.extra ?? (journal as { restoring?: unknown }).restoring) as RestoringWhat | undefined;
  const outcome = journal.state === 'committed' ? 'completes it (its data is already in place)' : 'first puts every old file back';
  if (!r) return `Any "aico backup restore FILE --target ${quote(home)} --force" into it ${outcome}, then restores FILE. Until then, do not start AICO on it.`;
  const where = r.inPlace ? `--home ${quote(home)}` : `--target ${quote(home)} --force`;
  const only = r.units.length ? ` --database ${r.units.join(',')}` : '';
  return `Run the interrupted restore again: aico backup restore ${quote(r.archive)} ${where}${only}\n  It ${outcome}, then restores ${path.basename(r.archive)} as asked. Until then, do not start AICO on it.`;
}

const quote = (p: string) => (/^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replaceAll("'", `'\\''`)}'`);

/**
 * Journals of operations that change a home in several steps. While one is
 * present the home is half old, half new: nothing may read it as a whole.
 * A migration that journals its steps (with fsutil/swap-journal.ts) adds its
 * kind here.
 */
export const HOME_JOURNALS: readonly JournalKind[] = [{ name: JOURNAL_NAME, op: 'restore', finishHint }];

/**
 * Refuses (HOME_INCOMPLETE) a home that holds the journal of an unfinished
 * operation, with the command that finishes it. create calls this before
 * reading a home, and a restore --dry-run (a preview must not recover).
 */
export function refuseIncompleteHome(home: string): Promise<void> {
  return refuseIncomplete(home, HOME_JOURNALS);
}
