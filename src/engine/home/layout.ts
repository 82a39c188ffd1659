/**
 * The one description of an AICO home: which unit lives where, what travels
 * with it, where it goes in an archive, and the names users may call it by.
 * Everything else (the create catalog, restore's units and path mapping,
 * validation, the TUI's checklist) is derived from this table.
 *
 * Paths follow AICO's own resolution (shared/aico/core/paths.py,
 * config/defaults/database.yaml in boeni-industries/aico): the home is
 * platformdirs' user_data_dir("aico"), the libSQL file is
 * <home>/data/aico.db with its salt beside it, working memory (LMDB) is
 * <home>/data/memory/working, semantic memory (Chroma) is
 * <home>/data/memory/semantic, models and cache sit at the home's top level.
 */

export type UnitKind = 'database' | 'config' | 'extra';

export interface HomeUnit {
  /** Canonical name, as recorded in restore results and the audit log. */
  name: string;
  kind: UnitKind;
  /** The unit's file or directory, relative to the home. */
  home: string;
  /** Where `home` goes in an archive. */
  archive: string;
  /** Files next to `home` (suffixes) that are archived with it, e.g. the libSQL salt. */
  archivedSidecars: readonly string[];
  /** Files next to `home` that belong to it but are never archived; restore moves them aside (a stale -shm would corrupt a restored libSQL file). */
  localSidecars: readonly string[];
  /** Names users may type (--include, --exclude, --database, config); the first is canonical. */
  aliases: readonly string[];
  /** Database engines that may hold the unit, tried in order. */
  engines: readonly string[];
  /** Config is merged file by file; everything else only as a whole. */
  mergeByFile: boolean;
  /** Whether AICO encrypts the unit itself (libSQL). */
  encrypted: boolean;
}

function unit(u: Partial<HomeUnit> & Pick<HomeUnit, 'name' | 'kind' | 'home' | 'archive'>): HomeUnit {
  return { archivedSidecars: [], localSidecars: [], aliases: [u.name], engines: [], mergeByFile: false, encrypted: false, ...u };
}

export const HOME_LAYOUT: readonly HomeUnit[] = [
  unit({ name: 'libsql', kind: 'database', home: 'data/aico.db', archive: 'databases/aico.db', archivedSidecars: ['.salt', '-wal'], localSidecars: ['-shm'], engines: ['libsql'], encrypted: true }),
  unit({ name: 'chromadb', kind: 'database', home: 'data/memory/semantic', archive: 'databases/semantic', aliases: ['chromadb', 'semantic', 'chroma'], engines: ['chromadb'] }),
  unit({ name: 'working', kind: 'database', home: 'data/memory/working', archive: 'databases/working', aliases: ['working', 'lmdb', 'rocksdb'], engines: ['lmdb', 'rocksdb'] }),
  unit({ name: 'config', kind: 'config', home: 'config', archive: 'config', mergeByFile: true }),
  unit({ name: 'models', kind: 'extra', home: 'models', archive: 'extras/models' }),
  unit({ name: 'cache', kind: 'extra', home: 'cache', archive: 'extras/cache' }),
  // Not an AICO directory; kept so archives written by 0.1 (which had it) still restore.
  unit({ name: 'temp', kind: 'extra', home: 'data/temp', archive: 'extras/temp' }),
];

/** The libSQL unit: its file, salt and WAL are named in several places (keys, restore). */
export const LIBSQL = HOME_LAYOUT[0]!;
export const LIBSQL_HOME = LIBSQL.home;
export const LIBSQL_SALT_HOME = `${LIBSQL.home}.salt`;

export function unitNamed(name: string): HomeUnit | undefined {
  return HOME_LAYOUT.find((u) => u.name === name);
}

/** Every path (relative to the home) a unit owns: itself and all its sidecars. */
export function ownedPaths(u: HomeUnit): string[] {
  return [u.home, ...u.archivedSidecars.map((s) => u.home + s), ...u.localSidecars.map((s) => u.home + s)];
}

/** The paths a backup reads, each with its archive path. */
export function archivedPaths(u: HomeUnit): { home: string; archive: string }[] {
  return [{ home: u.home, archive: u.archive }, ...u.archivedSidecars.map((s) => ({ home: u.home + s, archive: u.archive + s }))];
}

/** Alias -> canonical name, for every unit. */
export const ALIASES: Readonly<Record<string, string>> = Object.fromEntries(HOME_LAYOUT.flatMap((u) => u.aliases.map((a) => [a, u.name])));

/** The unit a source name (as recorded in metadata, or typed by a user) belongs to; unknown names map to themselves. */
export function unitOf(name: string): string {
  return ALIASES[name.trim().toLowerCase()] ?? name;
}
