import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError, isAicoError } from '../errors.js';
import { nestedContext, noopSink, warningEvent, type OperationContext } from '../events.js';
import type { DirLock } from '../fsutil/lock.js';
import { isRemote, nameOf, splitLocation, storeFor } from '../store/index.js';
import type { PasswordProvider } from '../archive/reader.js';
import { applyPolicy, type Decision, type KeepRules } from '../retention/policy.js';
import { checkTimeZone } from '../retention/time-zone.js';
import { askOnce } from './chain.js';
import { childrenFirst, deleteBackups } from './delete.js';
import { consolidate } from './consolidate.js';
import { describe, list, type BackupEntry } from './list.js';
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
  /**
   * Write a full backup of each kept incremental or differential that keeps
   * backups only for its chain (and that no kept backup builds on), so those
   * can go; the full backup takes its place.
   */
  consolidate?: boolean;
  /** Tests only: a cheaper KDF for the full backups --consolidate writes. */
  kdfIterations?: number;
}

export interface CleanupEntry {
  path: string;
  name: string;
  created: string | null;
  type: string | null;
  purpose: string;
  bytes: number;
  keep: boolean;
  /** Why it is kept: the rule and period, or the kept backup that builds on it; for one --consolidate replaces, by what. Empty when it simply goes. */
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
  /** --consolidate: each restore point written as a full backup (`to` null in a dry run), and the backup it replaces. */
  consolidated: { from: string; to: string | null }[];
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
  const isDir = isRemote(opts.dir) || (await fs.stat(opts.dir).then((st) => st.isDirectory(), () => false));
  if (!isDir) {
    throw new AicoError('NOT_FOUND', `There is no backup directory ${opts.dir}; nothing was removed.`, {
      hint: 'Give the directory the backups are in (cleanup DIR or --output DIR), or set backup.output_dir in core.yaml.',
    });
  }
  emit({ type: 'start', op: 'cleanup', path: opts.dir });
  const lock = opts.lock ?? (dryRun ? null : await storeFor(opts.dir).lock('cleanup'));
  if (lock?.takeover && !opts.lock) emit(warningEvent('STALE_LOCK', lock.takeover));
  try {
    const { backups } = (await list({ dir: opts.dir })) as { backups: PolicyEntry[] };
    const pinned = new Map<string, string>();
    const ask = askOnce(opts.password) ?? undefined;
    let decisions = applyPolicy(backups, opts.rules, timeZone, pinned);
    let verified: string | null = null;
    const consolidated: CleanupResult['consolidated'] = [];
    if (decisions.some((d) => !d.keep) || (opts.consolidate && replaceable(decisions).length > 0)) {
      verified = await newestVerified(backups, pinned, ask, ctx);
      decisions = applyPolicy(backups, opts.rules, timeZone, pinned);
    }
    if (opts.consolidate) {
      const simulate = (replacements: Map<string, PolicyEntry>) => withReplacements(backups, replacements, opts.rules, timeZone, pinned);
      // One candidate at a time, each kept only if it frees a backup the ones before it did not.
      let chosen = new Map<string, PolicyEntry>();
      for (const k of replaceable(decisions)) {
        const trial = new Map(chosen).set(k.path, { ...k, name: `(a full backup of ${k.name})`, path: '', id: null, parent_id: null, type: 'full' });
        const next = simulate(trial);
        const keptAfter = new Set(next.filter((d) => d.keep).map((d) => d.backup.name));
        if (decisions.some((d) => d.keep && !trial.has(d.backup.path) && d.backup.path !== '' && !keptAfter.has(d.backup.name))) {
          chosen = trial;
          decisions = next;
        }
      }
      if (!dryRun && chosen.size > 0) {
        const written = new Map<string, PolicyEntry>();
        for (const from of chosen.keys()) {
          emit({ type: 'phase', phase: 'archive', message: `Writing a full backup of ${nameOf(from)}, so the backups it builds on can go` });
          const r = await consolidate({ path: from, password: ask, lock: lock ?? undefined, ...(opts.kdfIterations ? { kdfIterations: opts.kdfIterations } : {}) }, nestedContext(ctx, 'cleanup', 'consolidate'));
          written.set(from, await describe(r.backup.path));
        }
        chosen = written;
        decisions = simulate(written);
      }
      for (const [from, full] of chosen) consolidated.push({ from, to: full.path || null });
    }
    const going = childrenFirst(decisions.filter((d) => !d.keep && d.backup.path !== '').map((d) => d.backup));
    const removed = new Set<string>();
    if (going.length > 0) {
      emit({ type: 'phase', phase: 'remove', message: `${dryRun ? 'Would remove' : 'Removing'} ${going.length} backup(s)` });
      const result = await deleteBackups({ paths: going.map((b) => b.path), dryRun, lock: lock ?? undefined }, nestedContext(ctx, 'cleanup', 'delete'));
      for (const b of result.backups) if (b.deleted) removed.add(b.path);
    }
    const entries = sortNewestFirst(decisions).map(({ backup: b, keep, reasons }: Decision<PolicyEntry>) => ({
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
    return { dir: opts.dir, dryRun, timeZone, backups: entries, consolidated, verified, removed: going.length, bytes, durationMs };
  } finally {
    if (lock && !opts.lock) await lock.release();
  }
}

/**
 * Verifies ordinary backups newest first until one passes; each that fails is
 * pinned (kept, with why) and the one that passes is pinned as the newest that
 * verifies. Without a password for an encrypted one, nothing is removed.
 */
async function newestVerified(backups: BackupEntry[], pinned: Map<string, string>, ask: PasswordProvider | undefined, ctx: OperationContext): Promise<string> {
  const candidates = backups.filter((b) => b.purpose === 'backup' && !b.problem && b.created);
  for (const b of candidates) {
    try {
      const r = await verify({ path: b.path, password: ask }, nestedContext(ctx, 'cleanup', 'verify'));
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
  throw new AicoError('NO_VERIFIED_BACKUP', `No backup in ${backups[0]?.path ? splitLocation(backups[0].path).dir : '.'} verifies, so none is removed.`, {
    hint: 'Make a new backup (aico backup create) and check it (aico backup verify) before cleaning up.',
    details: { failed: [...pinned.keys()] },
  });
}

type PolicyEntry = BackupEntry;

const onlyForChains = (reasons: string[]) => reasons.length > 0 && reasons.every((r) => r.startsWith('parent of '));

/**
 * The kept incrementals and differentials worth a full backup of their own:
 * kept by a rule, built on by no kept backup, and standing on at least one
 * backup that is kept only for chains.
 */
function replaceable(decisions: Decision<PolicyEntry>[]): PolicyEntry[] {
  const byId = new Map(decisions.filter((d) => d.backup.id).map((d) => [d.backup.id!, d]));
  const keptParents = new Set(decisions.filter((d) => d.keep && d.backup.parent_id).map((d) => d.backup.parent_id!));
  return decisions
    .filter((d) => d.keep && d.backup.parent_id && d.backup.purpose === 'backup' && !d.backup.problem && d.backup.chain_intact !== false)
    .filter((d) => !onlyForChains(d.reasons) && !keptParents.has(d.backup.id ?? ''))
    .filter((d) => {
      for (let p = byId.get(d.backup.parent_id!); p; p = p.backup.parent_id ? byId.get(p.backup.parent_id) : undefined) if (onlyForChains(p.reasons)) return true;
      return false;
    })
    .map((d) => d.backup);
}

/** The policy's decisions once each backup in `replacements` (by path) is replaced by its full backup (a stand-in in a dry run). */
function withReplacements(backups: PolicyEntry[], replacements: Map<string, PolicyEntry>, rules: KeepRules, timeZone: string, pinned: Map<string, string>): Decision<PolicyEntry>[] {
  const pins = new Map(pinned);
  for (const [from, full] of replacements) pins.set(full.name, `full backup of ${nameOf(from)}, which it replaces`);
  const rest = backups.filter((b) => !replacements.has(b.path));
  return [
    ...applyPolicy([...rest, ...replacements.values()], rules, timeZone, pins),
    ...backups.filter((b) => replacements.has(b.path)).map((b) => ({ backup: b, keep: false, reasons: [`replaced by ${replacements.get(b.path)!.name}`] })),
  ];
}

function sortNewestFirst<D extends { backup: { created: string | null; name: string } }>(decisions: D[]): D[] {
  return [...decisions].sort((a, b) => (b.backup.created ?? '').localeCompare(a.backup.created ?? '') || b.backup.name.localeCompare(a.backup.name));
}
