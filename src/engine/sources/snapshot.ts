import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { PlannedFile } from '../archive/writer.js';
import type { WarningCode } from '../codes.js';
import { throwIfAborted } from '../errors.js';
import type { SourceDef } from './catalog.js';
import { scanSources, type ScanResult, type ScannedSource } from './scan.js';
import type { DatabaseAdapter } from './types.js';

export interface SnapshotOptions {
  home: string;
  /** Private directory for staged copies; the caller creates and removes it. */
  staging: string;
  allowLive: boolean;
  libsqlKey: string | null;
  /** Adapters that may hold each database source, tried in order (detect). */
  adapters: Record<string, DatabaseAdapter[]>;
  signal?: AbortSignal;
  warn(code: WarningCode, message: string): void;
  /** Called before each database is snapshotted. */
  onDatabase?(name: string, location: string): void;
}

/**
 * Captures every selected source: databases through their adapter's
 * consistent snapshot into staging, config and extras as the files are.
 * The result lists the files to archive, staged or live.
 */
export async function snapshotSources(defs: readonly SourceDef[], opts: SnapshotOptions): Promise<ScanResult> {
  const plain = defs.filter((d) => !d.database);
  const result = await scanSources(opts.home, plain);
  const byName = new Map<string, ScannedSource>(result.sources.map((s) => [s.def.name, s]));
  // The databases are captured at the same time: each copy is its own files (and its own child
  // processes), and most of a copy is the kernel moving pages, so one overlaps the others' waiting.
  // Every capture runs to its end before the first failure, in catalog order, is thrown.
  const captures = defs.filter((d) => d.database).map((def) => captureOne(def, opts, result, byName));
  const settled = await Promise.allSettled(captures);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  const order = (name: string) => defs.findIndex((d) => d.name === name);
  result.missing.sort((a, b) => order(a) - order(b));
  // Catalog order, whatever order they were captured in.
  result.sources = defs.map((d) => byName.get(d.name)).filter((s): s is ScannedSource => s !== undefined);
  return result;
}

async function captureOne(def: SourceDef, opts: SnapshotOptions, result: ScanResult, byName: Map<string, ScannedSource>): Promise<void> {
  throwIfAborted(opts.signal);
  const database = def.database!;
  const location = path.join(opts.home, database.location);
  let adapter: DatabaseAdapter | undefined;
  for (const candidate of opts.adapters[def.name] ?? []) {
    if (await candidate.detect(location)) {
      adapter = candidate;
      break;
    }
  }
  if (!adapter) {
    if (await fs.stat(location).then(() => true, () => false)) {
      opts.warn('SOURCE_UNRECOGNISED', `${location} exists but holds no database this tool recognises; skipped.`);
    }
    result.missing.push(def.name);
    return;
  }
  opts.onDatabase?.(adapter.name, location);
  const staging = path.join(opts.staging, adapter.name);
  await fs.mkdir(staging, { recursive: true, mode: 0o700 });
  const snap = await adapter.snapshot({
    home: opts.home,
    location,
    staging,
    allowLive: opts.allowLive,
    libsqlKey: opts.libsqlKey,
    signal: opts.signal,
    warn: opts.warn,
  });
  const files: PlannedFile[] = snap.files.map((f) => ({
    source: adapter.name,
    absPath: f.absPath,
    archivePath: `${database.archiveDir}/${f.relPath}`,
    size: f.size,
    mode: f.mode,
    mtime: f.mtime,
  }));
  byName.set(def.name, {
    def,
    name: adapter.name,
    files,
    stats: {
      kind: 'database',
      archive_path: `${database.archiveDir}/`,
      size_bytes: files.reduce((sum, f) => sum + f.size, 0),
      files: files.length,
      ...snap.stats,
    },
    ...(snap.check ? { check: snap.check } : {}),
  });
}
