import path from 'node:path';
import { AicoError, isAicoError } from '../errors.js';
import { nestedContext, noopSink, warningEvent, type OperationContext } from '../events.js';
import { acquireDirLock, type DirLock } from '../fsutil/lock.js';
import type { PasswordProvider } from '../archive/reader.js';
import { applyPolicy, type Decision, type KeepRules } from '../retention/policy.js';
import { checkTimeZone } from '../retention/time-zone.js';
import { askOnce } from './chain.js';
import { childrenFirst, deleteBackups } from './delete.js';
import { list, type BackupEntry } from './list.js';
import { verify } from './verify.js';

export interface CleanupOptions {
  /** The backup directory. */
  dir: string;
  rules: KeepRules;
  /** IANA zone the periods (days, weeks, …) are counted in. */
  timeZone: string;
  /** Decide, verify and report; remove nothing, take no lock. */
  dryRun?: boolean;
  /** The newest backup's password: it is verified before anything is removed. */
  password?: PasswordProvider;
  /** The directory's lock, already held by the caller (a scheduled run); otherwise cleanup takes it. */
  lock?: DirLock;
}

export interface CleanupEntry {
  path: string;
  name: string;
  created: string | null;
  type: string | null;
  purpose: string;
  bytes: number;
  keep: boolean;
  /** Why it is kept: the rule and period, or the kept backup that builds on it. Empty when it goes. */
  reasons: string[];
  /** False for a kept backup, and for every backup in a dry run. */
  removed: boolean;
}

export interface CleanupResult {
  dir: string;
  dryRun: boolean;
  timeZone: string;
  /** Every backup in the directory, newest first. */
  backups: CleanupEntry[];
  /** The newest backup that was verified before removing anything; null when nothing was to be removed. */
  verified: string | null;
  /** Backups removed (or, in a dry run, that would be), and their bytes. */
  removed: number;
  bytes: number;
  durationMs: number;
}

/** Verification failures that say "this backup is bad", not "verification could not run". */
const DAMAGE = new Set(['CORRUPT_HEADER', 'CORRUPT_ARCHIVE', 'TRUNCATED_ARCHIVE', 'TRAILING_DATA', 'CHECKSUM_MISMATCH', 'NOT_AN_ARCHIVE', 'UNSUPPORTED_FORMAT', 'CHAIN_BROKEN']);

/**
 * Removes the backups a retention policy does not keep (retention/policy.ts:
 * restic forget's rules, chains kept whole), under the directory's lock.
 * Before anything goes, the newest backup is verified in full, chain and all;
 * if it fails, it is kept and the next one is tried, so the newest backup that
 * verifies always survives. Each removal is one unlink of a finished archive,
 * dependents before what they build on, so an interrupted cleanup leaves
 * every remaining backup whole and restorable.
 */
export async function cleanup(opts: CleanupOptions, ctx: OperationContext = {}): Promise<CleanupResult> {
  const started = Date.now();
  const emit = ctx.onEvent ?? noopSink;
  const dryRun = opts.dryRun === true;
  const timeZone = checkTimeZone(opts.timeZone);
  // An empty policy is refused before the lock and the listing.
  applyPolicy([], opts.rules, timeZone);
  emit({ type: 'start', op: 'cleanup', path: opts.dir });
  const lock = opts.lock ?? (dryRun ? null : await acquireDirLock(opts.dir, 'cleanup'));
  if (lock?.takeover && !opts.lock) emit(warningEvent('STALE_LOCK', lock.takeover));
  try {
    const { backups } = await list({ dir: opts.dir });
    const pinned = new Map<string, string>();
    let decisions = applyPolicy(backups, opts.rules, timeZone, pinned);
    let verified: string | null = null;
    if (decisions.some((d) => !d.keep)) {
      verified = await newestVerified(backups, pinned, opts.password, ctx);
      decisions = applyPolicy(backups, opts.rules, timeZone, pinned);
    }
    const going = childrenFirst(decisions.filter((d) => !d.keep).map((d) => d.backup));
    const removed = new Set<string>();
    if (going.length > 0) {
      emit({ type: 'phase', phase: 'remove', message: `${dryRun ? 'Would remove' : 'Removing'} ${going.length} backup(s)` });
      const result = await deleteBackups({ paths: going.map((b) => b.path), dryRun, lock: lock ?? undefined }, nestedContext(ctx, 'cleanup', 'delete'));
      for (const b of result.backups) if (b.deleted) removed.add(b.path);
    }
    const entries = decisions.map(({ backup: b, keep, reasons }: Decision<BackupEntry>) => ({
      path: b.path,
      name: b.name,
      created: b.created,
      type: b.type,
      purpose: b.purpose,
      bytes: b.bytes,
      keep,
      reasons,
      removed: removed.has(b.path),
    }));
    const bytes = going.reduce((n, b) => n + b.bytes, 0);
    const durationMs = Date.now() - started;
    emit({ type: 'summary', op: 'cleanup', ok: true, durationMs, bytes });
    return { dir: opts.dir, dryRun, timeZone, backups: entries, verified, removed: going.length, bytes, durationMs };
  } finally {
    if (lock && !opts.lock) await lock.release();
  }
}

/**
 * Verifies ordinary backups newest first until one passes; each that fails is
 * pinned (kept, with why) and the one that passes is pinned as the newest that
 * verifies. Without a password for an encrypted one, nothing is removed.
 */
async function newestVerified(backups: BackupEntry[], pinned: Map<string, string>, password: PasswordProvider | undefined, ctx: OperationContext): Promise<string> {
  const ask = askOnce(password);
  const candidates = backups.filter((b) => b.purpose === 'backup' && !b.problem && b.created);
  for (const b of candidates) {
    try {
      const r = await verify({ path: b.path, password: ask ?? undefined }, nestedContext(ctx, 'cleanup', 'verify'));
      if (r.ok) {
        pinned.set(b.name, 'newest backup that verifies');
        return b.name;
      }
      const first = r.problems[0] ?? r.chain.find((l) => !l.ok)?.problems[0];
      pinned.set(b.name, `failed verification (${first?.code ?? 'problem'}): kept for you to look at`);
    } catch (error) {
      if (isAicoError(error) && DAMAGE.has(error.code)) pinned.set(b.name, `failed verification (${error.code}): kept for you to look at`);
      else if (isAicoError(error, 'PASSWORD_REQUIRED') || isAicoError(error, 'WRONG_PASSWORD')) {
        throw new AicoError(error.code, `${error.message} Cleanup verifies the newest backup, ${b.name}, before it removes anything.`, {
          hint: error.hint ?? 'Give its password (--password-file, $AICO_BACKUP_PASSWORD or aico backup password set); nothing was removed.',
          cause: error,
        });
      } else throw error;
    }
  }
  throw new AicoError('NO_VERIFIED_BACKUP', `No backup in ${path.resolve(backups[0]?.path ? path.dirname(backups[0].path) : '.')} verifies, so none is removed.`, {
    hint: 'Make a new backup (aico backup create) and check it (aico backup verify) before cleaning up.',
    details: { failed: [...pinned.keys()] },
  });
}
