import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isArchiveName } from '../archive/naming.js';
import { AicoError, fromFsError } from '../errors.js';
import { nestedContext, noopSink, warningEvent, type OperationContext } from '../events.js';
import type { PasswordProvider } from '../archive/reader.js';
import { askOnce } from './chain.js';
import { consolidate } from './consolidate.js';
import { maybeCrash } from '../fsutil/fault.js';
import type { DirLock } from '../fsutil/lock.js';
import { isRemote, nameOf, resolveLocation, splitLocation, storeFor, type StoredBackup } from '../store/index.js';
import { processesReading, type ReadingProcess } from './delete-readers.js';
import { list } from './list.js';

export interface DeleteOptions {
  paths: string[];
  /** Check and report everything, remove nothing, take no lock. */
  dryRun?: boolean;
  /** Also delete every backup that builds on one of `paths` (directly or through others), instead of refusing. */
  withDependents?: boolean;
  /**
   * Keep the restore points of the backups that build on `paths`: each is
   * first written as a full backup (ops/consolidate.ts), then removed with them.
   */
  consolidate?: boolean;
  /** For --consolidate: the password of the backups (a chain has one). */
  password?: PasswordProvider;
  /** Tests only: a cheaper KDF for the full backups --consolidate writes. */
  kdfIterations?: number;
  /** The lock of the backups' directory, already held by the caller (cleanup); other directories are locked here. */
  lock?: DirLock;
}

export interface DeletedBackup {
  path: string;
  name: string;
  bytes: number;
  /** False in a dry run. */
  deleted: boolean;
  /** Not asked for by name: it builds on a backup that was (--with-dependents). */
  dependent: boolean;
  /**
   * Other processes that had the archive open when it was removed (or, in a
   * dry run, when it was checked); null where that cannot be seen (no /proc).
   */
  readers: ReadingProcess[] | null;
}

export interface DeleteResult {
  dryRun: boolean;
  /** In the order they were removed: every backup before what it builds on; duplicates removed. */
  backups: DeletedBackup[];
  /** --consolidate: each dependent written as a full backup before it was removed (`to` null in a dry run). */
  consolidated: { from: string; to: string | null }[];
  bytes: number;
  durationMs: number;
}

interface Target {
  file: string;
  stat: StoredBackup;
}

/**
 * Deletes backup archives: only regular files named like backups, so a slip
 * of the finger cannot remove anything else. A finished archive has no
 * companion files (FORMAT.md §1: `.partial` and `.blocks.partial` files exist
 * only while a create writes, and belong to it), so each backup is exactly one
 * unlink and an interrupted delete leaves every backup either gone or whole.
 * Every path is checked before the first removal: one bad path removes nothing.
 * The lock of each backup directory (taken in sorted order, so two deletes over
 * the same directories cannot deadlock) keeps a create or another delete out.
 */
export async function deleteBackups(opts: DeleteOptions, ctx: OperationContext = {}): Promise<DeleteResult> {
  const started = Date.now();
  const emit = ctx.onEvent ?? noopSink;
  const dryRun = opts.dryRun === true;
  const files = [...new Set(opts.paths.map((p) => resolveLocation(p)))];
  if (files.length === 0) throw new AicoError('USAGE', 'No backup to delete was given.');
  emit({ type: 'start', op: 'delete' });
  // Checked once before any lock (so a typo is reported even while a create holds it) and again under it.
  for (const file of files) await checkTarget(file);

  const dirs = [...new Set(files.map((f) => splitLocation(f).dir))].sort();
  const locks: DirLock[] = [];
  const backups: DeletedBackup[] = [];
  const consolidated: DeleteResult['consolidated'] = [];
  try {
    if (!dryRun) {
      for (const dir of dirs) {
        if (opts.lock && resolveLocation(opts.lock.dir) === dir) continue;
        const lock = await storeFor(dir).lock('delete');
        locks.push(lock);
        if (lock.takeover) emit(warningEvent('STALE_LOCK', lock.takeover));
      }
    }
    const { order, dependents } = await planRemoval(files, dirs);
    if (dependents.length > 0 && !opts.withDependents && !opts.consolidate) throw hasDependents(dependents);
    if (opts.consolidate) {
      const ask = askOnce(opts.password) ?? undefined;
      for (const from of dependents) {
        if (dryRun) {
          consolidated.push({ from, to: null });
          continue;
        }
        const lock = [...locks, ...(opts.lock ? [opts.lock] : [])].find((l) => resolveLocation(l.dir) === splitLocation(from).dir);
        const r = await consolidate({ path: from, password: ask, ...(lock ? { lock } : {}), ...(opts.kdfIterations ? { kdfIterations: opts.kdfIterations } : {}) }, nestedContext(ctx, 'delete', 'consolidate'));
        consolidated.push({ from, to: r.backup.path });
      }
    }
    const targets: Target[] = [];
    for (const file of order) targets.push(await checkTarget(file));
    // Who has a local archive open; a bucket cannot tell.
    const readers = order.some(isRemote) ? null : await processesReading(order);
    for (const { file, stat } of targets) {
      if (ctx.signal?.aborted) throw cancelled(backups, targets.length);
      const open = readers?.get(file) ?? (readers ? [] : null);
      if (!dryRun) {
        const { dir, name } = splitLocation(file);
        await storeFor(dir).remove(name).catch((error) => {
          throw withDeleted(fromFsError(error, file), backups);
        });
      }
      backups.push({ path: file, name: nameOf(file), bytes: stat.bytes, deleted: !dryRun, dependent: !files.includes(file), readers: open });
      if (!dryRun) maybeCrash(`delete:${backups.length}`);
      emit({ type: 'item', source: 'archive', path: file, bytes: stat.bytes, action: dryRun ? 'would-delete' : 'deleted' });
      if (open && open.length > 0) emit(warningEvent('ARCHIVE_OPEN', openMessage(file, open, dryRun)));
    }
  } finally {
    for (const lock of locks.reverse()) await lock.release();
  }
  const bytes = backups.reduce((n, b) => n + b.bytes, 0);
  const durationMs = Date.now() - started;
  emit({ type: 'summary', op: 'delete', ok: true, durationMs, bytes });
  return { dryRun, backups, consolidated, bytes, durationMs };
}

/** What the dependency planning needs of a listed backup. */
export interface Linked {
  path: string;
  id: string | null;
  parent_id: string | null;
}

/**
 * An incremental or differential backup is useless without the backups it
 * builds on. The backups to remove, in a safe order, and the ones not named
 * that build on them (directly or through others), which lose their chain.
 */
async function planRemoval(files: string[], dirs: string[]): Promise<{ order: string[]; dependents: string[] }> {
  const going = new Set(files);
  const dependents: string[] = [];
  const all: Linked[] = [];
  for (const dir of dirs) {
    const { backups } = await list({ dir });
    all.push(...backups);
    const goingIds = new Set(backups.filter((b) => going.has(b.path) && b.id).map((b) => b.id!));
    for (let grew = true; grew; ) {
      grew = false;
      for (const b of backups) {
        if (!b.parent_id || !goingIds.has(b.parent_id) || going.has(b.path) || dependents.includes(b.path)) continue;
        dependents.push(b.path);
        if (b.id) goingIds.add(b.id);
        grew = true;
      }
    }
  }
  const known = new Map(all.map((b) => [b.path, b]));
  const set = [...files, ...dependents].map((f) => known.get(f) ?? { path: f, id: null, parent_id: null });
  return { order: childrenFirst(set).map((b) => b.path), dependents };
}

function hasDependents(dependents: string[]): AicoError {
  const names = dependents.map(nameOf);
  return new AicoError('HAS_DEPENDENTS', `Other backups build on what you asked to delete: ${names.join(', ')}. Nothing was deleted.`, {
    hint: 'Delete them with it (--with-dependents), or keep their restore points as full backups first (--consolidate, or aico backup consolidate FILE).',
    details: { dependents: names },
  });
}

/** Removal order: a backup only after every backup in the set that builds on it, so an interrupted removal breaks no chain. */
export function childrenFirst<B extends Linked>(going: B[]): B[] {
  const order: B[] = [];
  const left = new Set(going);
  while (left.size > 0) {
    const needed = new Set([...left].map((b) => b.parent_id).filter(Boolean));
    const leaves = [...left].filter((b) => !b.id || !needed.has(b.id));
    // A cycle of parent ids cannot come from create; should one appear, go in the given order.
    for (const b of leaves.length > 0 ? leaves : [...left]) {
      order.push(b);
      left.delete(b);
    }
  }
  return order;
}

async function checkTarget(file: string): Promise<Target> {
  if (!isArchiveName(nameOf(file))) {
    throw new AicoError('USAGE', `${file} is not named like an aico-backup archive; refusing to delete it.`, {
      hint: 'Only finished backups (aico-backup-YYYYMMDD-HHMMSS….tar…) are deleted; nothing was removed.',
    });
  }
  const { dir, name } = splitLocation(file);
  if (!isRemote(file)) {
    // lstat, not the store's stat: a link named like a backup is refused, not followed.
    const st = await fs.lstat(file).catch((error) => {
      throw fromFsError(error, file);
    });
    if (!st.isFile()) throw new AicoError('USAGE', `${file} is not a regular file; refusing to delete it.`, { hint: 'Nothing was removed.' });
  }
  const stat = await storeFor(dir).head(name);
  if (!stat) throw new AicoError('NOT_FOUND', `No backup at ${file}.`, { hint: 'Nothing was removed.' });
  return { file, stat };
}

function openMessage(file: string, open: ReadingProcess[], dryRun: boolean): string {
  const who = open.map((p) => `pid ${p.pid} (${p.command})`).join(', ');
  return `${nameOf(file)} is open in ${who}${dryRun ? '' : '; it was deleted anyway'}: a reader keeps its open copy until it closes it, and the disk space is freed then.`;
}

function cancelled(backups: DeletedBackup[], total: number): AicoError {
  return new AicoError('CANCELLED', `Cancelled after deleting ${backups.length} of ${total} backup(s); the others are untouched.`, {
    details: { deleted: backups.filter((b) => b.deleted).map((b) => b.path) },
  });
}

/** An error after some removals says which backups are already gone. */
function withDeleted(error: AicoError, backups: DeletedBackup[]): AicoError {
  if (backups.length === 0) return error;
  return new AicoError(error.code, `${error.message} (${backups.length} backup(s) before it were deleted; the others are untouched.)`, {
    ...(error.hint ? { hint: error.hint } : {}),
    cause: error,
    details: { ...error.details, deleted: backups.map((b) => b.path) },
  });
}
