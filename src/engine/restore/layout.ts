import { AicoError } from '../errors.js';
import { HOME_LAYOUT, ownedPaths } from '../home/layout.js';
import { canonicalSource } from '../sources/catalog.js';

/**
 * What a restore puts back, unit by unit. A unit is swapped as a whole so a
 * database is never half old, half new; its home paths include files the
 * archive does not carry (a stale -wal or -shm next to a restored libSQL
 * file would corrupt it), which are moved aside with the rest.
 */
export interface RestoreUnit {
  /** Catalog name: libsql, chromadb, working, config, models, cache, temp. */
  name: string;
  /** Paths (relative to the home) the unit owns. */
  homePaths: string[];
  /** Config is merged file by file; databases only as a whole. */
  mergeByFile: boolean;
}

export const UNITS: readonly RestoreUnit[] = HOME_LAYOUT.map((u) => ({ name: u.name, homePaths: ownedPaths(u), mergeByFile: u.mergeByFile }));

/** Archive path -> home path, exact files first (a database file and its sidecars), then directory prefixes. */
const EXACT = new Map<string, [string, string]>(
  HOME_LAYOUT.filter((u) => u.archivedSidecars.length).flatMap((u) => ['', ...u.archivedSidecars].map((s) => [u.archive + s, [u.name, u.home + s]] as [string, [string, string]])),
);
const PREFIXES: [string, string, string][] = HOME_LAYOUT.filter((u) => !u.archivedSidecars.length).map((u) => [`${u.archive}/`, u.name, `${u.home}/`]);

/** A path is safe when it is relative, normalised, and every segment is a plain name. */
export function isSafeRelativePath(p: string): boolean {
  if (p.length === 0 || p.length > 4096 || p.startsWith('/') || p.includes('\\') || p.includes('\0')) return false;
  return p.split('/').every((seg) => seg.length > 0 && seg !== '.' && seg !== '..' && seg.length <= 255);
}

/** Where an archive file goes in the home, or a CORRUPT_ARCHIVE error for anything outside the documented layout. */
export function homePathFor(archivePath: string): { unit: string; homePath: string } {
  if (!isSafeRelativePath(archivePath)) {
    throw new AicoError('CORRUPT_ARCHIVE', `The archive names a file "${archivePath}" outside any safe relative path; refusing it.`, {
      hint: 'This archive was not written by aico-backup, or was tampered with. Nothing was restored.',
    });
  }
  const exact = EXACT.get(archivePath);
  if (exact) return { unit: exact[0], homePath: exact[1] };
  for (const [prefix, unit, home] of PREFIXES) {
    if (archivePath.startsWith(prefix) && archivePath.length > prefix.length) {
      return { unit, homePath: home + archivePath.slice(prefix.length) };
    }
  }
  throw new AicoError('CORRUPT_ARCHIVE', `The archive holds "${archivePath}", which is not part of the documented layout; refusing it.`, {
    hint: 'See docs/FORMAT.md for what an archive may contain. Nothing was restored.',
  });
}

/** Names users may give to --database (the same names --include takes), mapped to units. */
export function unitsFor(names: readonly string[]): string[] {
  return [...new Set(names.map((n) => canonicalSource(n, '--database')))];
}
