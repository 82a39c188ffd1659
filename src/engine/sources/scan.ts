import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { PlannedFile } from '../archive/writer.js';
import type { SourceStats } from '../archive/metadata.js';
import { fromFsError } from '../errors.js';
import type { SourceDef } from './catalog.js';
import type { ValidationResult } from './types.js';

export interface ScannedSource {
  def: SourceDef;
  /** Name recorded in metadata: for the working store, lmdb or rocksdb when recognisable. */
  name: string;
  files: PlannedFile[];
  stats: SourceStats;
  /** The snapshot's deferred check (SourceSnapshot.check), to run while the archive is written. */
  check?: (signal?: AbortSignal) => Promise<ValidationResult>;
}

export interface ScanResult {
  sources: ScannedSource[];
  missing: string[];
  skipped: { path: string; reason: string }[];
}

async function workingKind(dir: string): Promise<string> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  if (names.includes('data.mdb')) return 'lmdb';
  if (names.includes('CURRENT') || names.some((n) => n.endsWith('.sst'))) return 'rocksdb';
  return 'working';
}

/**
 * Lists the regular files of each selected source. Symlinks and special
 * files are skipped (reported), so a backup never follows a link out of the
 * home. Until the database adapters exist, files are read as they are.
 */
export async function scanSources(home: string, defs: readonly SourceDef[]): Promise<ScanResult> {
  const result: ScanResult = { sources: [], missing: [], skipped: [] };
  for (const def of defs) {
    const files: PlannedFile[] = [];
    for (let i = 0; i < def.homePaths.length; i++) {
      const abs = path.join(home, def.homePaths[i]!);
      await walk(abs, def.archivePaths[i]!, def.name, files, result.skipped);
    }
    if (files.length === 0) {
      result.missing.push(def.name);
      continue;
    }
    const name = def.name === 'working' ? await workingKind(path.join(home, def.homePaths[0]!)) : def.name;
    for (const f of files) f.source = name;
    const size = files.reduce((sum, f) => sum + f.size, 0);
    result.sources.push({
      def,
      name,
      files,
      stats: {
        kind: def.kind,
        archive_path: def.archivePaths.length === 1 ? `${def.archivePaths[0]}/` : path.posix.dirname(def.archivePaths[0]!) + '/',
        size_bytes: size,
        files: files.length,
        encrypted: def.encrypted,
        consistent: true,
        method: 'file-copy',
      },
    });
  }
  return result;
}

async function walk(abs: string, archivePath: string, source: string, out: PlannedFile[], skipped: ScanResult['skipped']): Promise<void> {
  let stat;
  try {
    stat = await fs.lstat(abs);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw fromFsError(error, abs);
  }
  if (stat.isDirectory()) {
    const entries = await fs.readdir(abs).catch((error) => {
      throw fromFsError(error, abs);
    });
    for (const name of entries.sort()) await walk(path.join(abs, name), `${archivePath}/${name}`, source, out, skipped);
  } else if (stat.isFile()) {
    out.push({ source, absPath: abs, archivePath, size: stat.size, mode: stat.mode, mtime: stat.mtime });
  } else {
    skipped.push({ path: abs, reason: stat.isSymbolicLink() ? 'symbolic link' : 'not a regular file' });
  }
}
