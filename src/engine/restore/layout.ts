import { AicoError } from '../errors.js';
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

export const UNITS: readonly RestoreUnit[] = [
  { name: 'libsql', homePaths: ['data/aico.db', 'data/aico.db.salt', 'data/aico.db-wal', 'data/aico.db-shm'], mergeByFile: false },
  { name: 'chromadb', homePaths: ['data/memory/semantic'], mergeByFile: false },
  { name: 'working', homePaths: ['data/memory/working'], mergeByFile: false },
  { name: 'config', homePaths: ['config'], mergeByFile: true },
  { name: 'models', homePaths: ['data/models'], mergeByFile: false },
  { name: 'cache', homePaths: ['data/cache'], mergeByFile: false },
  { name: 'temp', homePaths: ['data/temp'], mergeByFile: false },
];

/** Archive prefix -> [unit, home prefix]. Anything else in an archive is refused. */
const PREFIXES: [string, string, string][] = [
  ['databases/semantic/', 'chromadb', 'data/memory/semantic/'],
  ['databases/working/', 'working', 'data/memory/working/'],
  ['config/', 'config', 'config/'],
  ['extras/models/', 'models', 'data/models/'],
  ['extras/cache/', 'cache', 'data/cache/'],
  ['extras/temp/', 'temp', 'data/temp/'],
];
const LIBSQL_FILES = new Set(['databases/aico.db', 'databases/aico.db.salt', 'databases/aico.db-wal']);

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
  if (LIBSQL_FILES.has(archivePath)) return { unit: 'libsql', homePath: `data/${archivePath.slice('databases/'.length)}` };
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
