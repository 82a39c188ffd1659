import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Metadata } from '../archive/metadata.js';
import { AicoError, throwIfAborted } from '../errors.js';
import { HOME_LAYOUT } from '../home/layout.js';
import { DATABASE_ADAPTERS } from '../sources/adapters.js';
import type { WarningCode } from '../codes.js';
import type { DatabaseAdapter, DatabaseCounts } from '../sources/types.js';

/** Where each database unit lives in a home-like tree. */
const LOCATIONS: Record<string, string> = Object.fromEntries(HOME_LAYOUT.filter((u) => u.kind === 'database').map((u) => [u.name, u.home]));

export interface UnitValidation {
  unit: string;
  /** Engine name (libsql, chromadb, lmdb, rocksdb). */
  database: string;
  ok: boolean;
  counts: DatabaseCounts;
}

function sameCounts(got: DatabaseCounts, want: Metadata['databases'][string]): string | null {
  for (const key of ['tables', 'collections'] as const) {
    if (want[key] && JSON.stringify(sortKeys(got[key] ?? {})) !== JSON.stringify(sortKeys(want[key]!))) {
      return `${key} ${JSON.stringify(got[key] ?? {})} instead of ${JSON.stringify(want[key])}`;
    }
  }
  if (want.entries !== undefined && got.entries !== want.entries) return `${got.entries} entries instead of ${want.entries}`;
  return null;
}

const sortKeys = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

export interface UnitValidationOptions {
  staging: string;
  units: string[];
  metadata: Metadata;
  /** Resolved only when the libSQL unit is validated. */
  libsqlKey: () => Promise<string | null>;
  adapters?: Record<string, DatabaseAdapter[]>;
  signal?: AbortSignal;
  warn?: (code: WarningCode, message: string) => void;
}

/**
 * Opens every staged database with its own engine and compares its counts
 * with what the backup recorded; any failure stops the restore before the
 * target is touched. The databases live in separate directories of staging and each engine
 * opens only its own, so each is validated as soon as its files are staged
 * (`start`), beside the staging of the rest and the other validations: the
 * Chroma server check (seconds) overlaps staging LMDB and the libSQL
 * integrity check. Every check runs to its end (allSettled), so no server or
 * child is left running when one fails, and the first failure in unit order
 * is the one reported.
 */
export class UnitValidations {
  private readonly running = new Map<string, Promise<UnitValidation | null>>();
  private readonly controller = new AbortController();

  constructor(private readonly opts: UnitValidationOptions) {
    const parent = opts.signal;
    if (parent?.aborted) this.controller.abort();
    else parent?.addEventListener('abort', () => this.controller.abort(), { once: true });
  }

  /** Begins validating `unit` (its files are all staged); a unit is validated once. */
  start(unit: string): void {
    if (!this.opts.units.includes(unit) || this.running.has(unit)) return;
    const run = this.validate(unit);
    run.catch(() => {});
    this.running.set(unit, run);
  }

  /** Validates every unit not started yet and waits for all; throws the first failure in unit order. */
  async finish(): Promise<UnitValidation[]> {
    for (const unit of this.opts.units) this.start(unit);
    const settled = await Promise.allSettled(this.opts.units.map((u) => this.running.get(u)!));
    throwIfAborted(this.opts.signal);
    const results: UnitValidation[] = [];
    for (const s of settled) {
      if (s.status === 'rejected') throw s.reason;
      if (s.value) results.push(s.value);
    }
    return results;
  }

  /** Stops what runs (staging failed) and waits until every child and server is gone. */
  async abandon(): Promise<void> {
    this.controller.abort();
    await Promise.allSettled(this.running.values());
  }

  private async validate(unit: string): Promise<UnitValidation | null> {
    const rel = LOCATIONS[unit];
    if (!rel) return null;
    const location = path.join(this.opts.staging, ...rel.split('/'));
    if (!(await fs.stat(location).then(() => true, () => false))) return null;
    let adapter: DatabaseAdapter | undefined;
    for (const a of (this.opts.adapters ?? DATABASE_ADAPTERS)[unit] ?? []) if (await a.detect(location)) adapter = adapter ?? a;
    if (!adapter) {
      throw new AicoError('DATABASE_INVALID', `The ${unit} files in the backup are not a database this tool recognises; nothing was restored.`);
    }
    const libsqlKey = adapter.name === 'libsql' ? await this.opts.libsqlKey() : null;
    throwIfAborted(this.controller.signal);
    return validateOne(unit, location, adapter, this.opts.metadata, libsqlKey, this.controller.signal, this.opts.warn);
  }
}

async function validateOne(
  unit: string,
  location: string,
  adapter: DatabaseAdapter,
  metadata: Metadata,
  libsqlKey: string | null,
  signal: AbortSignal | undefined,
  warn: ((code: WarningCode, message: string) => void) | undefined,
): Promise<UnitValidation> {
  if (adapter.name === 'lmdb' && metadata.databases.lmdb?.encrypted) {
    // aico-backup 0.1 could copy an LMDB env encrypted with $AICO_LMDB_KEY (lmdb-js's development-branch LMDB).
    // AICO never encrypts its LMDB, and the LMDB 0.9 this tool now uses has no encryption: it cannot open that copy.
    throw new AicoError(
      'DATABASE_INVALID',
      "The LMDB working memory in this backup is encrypted (made with AICO_LMDB_KEY by aico-backup 0.1); this aico-backup reads only AICO's plain LMDB (LMDB 0.9) and cannot open it. Nothing was restored.",
      { hint: 'Restore the other databases without it (--database with the ones you need, leaving out working), or restore it with aico-backup 0.1.' },
    );
  }
  const v = await adapter.validate(location, { libsqlKey, signal, warn });
  throwIfAborted(signal);
  if (!v.ok) {
    throw new AicoError('DATABASE_INVALID', `The ${adapter.name} database in the backup does not validate: ${v.problems.join('; ')}. Nothing was restored.`, {
      hint: adapter.name === 'libsql' ? 'If the key is the problem, make the master key of this backup available (keyring or AICO_MASTER_KEY).' : 'Use another backup.',
    });
  }
  const recorded = metadata.databases[adapter.name];
  const mismatch = recorded ? sameCounts(v.counts, recorded) : null;
  if (mismatch) {
    throw new AicoError('DATABASE_INVALID', `The restored ${adapter.name} database has ${mismatch} recorded at backup time. Nothing was restored.`, {
      hint: 'Use another backup.',
    });
  }
  return { unit, database: adapter.name, ok: true, counts: v.counts };
}
