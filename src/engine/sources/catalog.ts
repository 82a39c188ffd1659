import { AicoError } from '../errors.js';
import { ALIASES, archivedPaths, HOME_LAYOUT, type UnitKind } from '../home/layout.js';

export type SourceKind = UnitKind;

/** What a backup reads for one unit of the home (derived from home/layout.ts). */
export interface SourceDef {
  name: string;
  kind: SourceKind;
  /** Paths relative to the AICO home; files or directories. */
  homePaths: string[];
  /** Archive path for each home path (same order). */
  archivePaths: string[];
  encrypted: boolean;
  /** Databases: where the database lives in the home, and the archive directory its snapshot goes to. */
  database?: { location: string; archiveDir: string };
}

export const SOURCES: readonly SourceDef[] = HOME_LAYOUT.map((u) => {
  const paths = archivedPaths(u);
  // A database file's snapshot (file + sidecars) lands in the directory holding its archive path.
  const archiveDir = u.archivedSidecars.length ? u.archive.slice(0, u.archive.lastIndexOf('/')) : u.archive;
  return {
    name: u.name,
    kind: u.kind,
    homePaths: paths.map((p) => p.home),
    archivePaths: paths.map((p) => p.archive),
    encrypted: u.encrypted,
    ...(u.kind === 'database' ? { database: { location: u.home, archiveDir } } : {}),
  };
});

export const SOURCE_NAMES = Object.keys(ALIASES);

export function canonicalSource(name: string, where = 'source list'): string {
  const canonical = ALIASES[name.trim().toLowerCase()];
  if (!canonical) {
    throw new AicoError('USAGE', `Unknown source "${name}" in ${where}.`, { hint: `Known sources: ${SOURCE_NAMES.join(', ')}.` });
  }
  return canonical;
}

/** include minus exclude, in catalog order. */
export function selectSources(include: readonly string[], exclude: readonly string[]): SourceDef[] {
  const inc = new Set(include.map((n) => canonicalSource(n, 'include')));
  const exc = new Set(exclude.map((n) => canonicalSource(n, 'exclude')));
  return SOURCES.filter((s) => inc.has(s.name) && !exc.has(s.name));
}
