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

/**
 * Opens every staged database with its own engine and compares its counts
 * with what the backup recorded. Any failure stops the restore before the
 * target is touched.
 */
export async function validateStaged(
  staging: string,
  units: string[],
  metadata: Metadata,
  libsqlKey: string | null,
  adapters: Record<string, DatabaseAdapter[]> = DATABASE_ADAPTERS,
  signal?: AbortSignal,
  warn?: (code: WarningCode, message: string) => void,
): Promise<UnitValidation[]> {
  // Which engine opens which unit is decided first, in unit order (cheap: a stat or two each).
  const found: { unit: string; location: string; adapter: DatabaseAdapter }[] = [];
  for (const unit of units) {
    const rel = LOCATIONS[unit];
    if (!rel) continue;
    const location = path.join(staging, ...rel.split('/'));
    if (!(await fs.stat(location).then(() => true, () => false))) continue;
    let adapter: DatabaseAdapter | undefined;
    for (const a of adapters[unit] ?? []) if (await a.detect(location)) adapter = adapter ?? a;
    if (!adapter) {
      throw new AicoError('DATABASE_INVALID', `The ${unit} files in the backup are not a database this tool recognises; nothing was restored.`);
    }
    found.push({ unit, location, adapter });
  }
  throwIfAborted(signal);
  // The databases live in separate directories of staging and each engine opens only its own,
  // so they are validated at the same time: the Chroma server check (seconds, mostly waiting on
  // a Python server) no longer adds to the libSQL integrity check and the LMDB read. Every check
  // runs to its end (allSettled), so no server or child is left running when one fails, and the
  // first failure in unit order is the one reported, as before.
  const settled = await Promise.allSettled(found.map((f) => validateOne(f.unit, f.location, f.adapter, metadata, libsqlKey, signal, warn)));
  throwIfAborted(signal);
  const results: UnitValidation[] = [];
  for (const s of settled) {
    if (s.status === 'rejected') throw s.reason;
    results.push(s.value);
  }
  return results;
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
