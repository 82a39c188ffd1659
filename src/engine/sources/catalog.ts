import { AicoError } from '../errors.js';

export type SourceKind = 'database' | 'config' | 'extra';

/** Where each kind of AICO data lives in the home and in the archive (docs/FORMAT.md). */
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

export const SOURCES: readonly SourceDef[] = [
  { name: 'libsql', kind: 'database', homePaths: ['data/aico.db', 'data/aico.db.salt', 'data/aico.db-wal'], archivePaths: ['databases/aico.db', 'databases/aico.db.salt', 'databases/aico.db-wal'], encrypted: true, database: { location: 'data/aico.db', archiveDir: 'databases' } },
  { name: 'chromadb', kind: 'database', homePaths: ['data/memory/semantic'], archivePaths: ['databases/semantic'], encrypted: false, database: { location: 'data/memory/semantic', archiveDir: 'databases/semantic' } },
  { name: 'working', kind: 'database', homePaths: ['data/memory/working'], archivePaths: ['databases/working'], encrypted: false, database: { location: 'data/memory/working', archiveDir: 'databases/working' } },
  { name: 'config', kind: 'config', homePaths: ['config'], archivePaths: ['config'], encrypted: false },
  { name: 'models', kind: 'extra', homePaths: ['data/models'], archivePaths: ['extras/models'], encrypted: false },
  { name: 'cache', kind: 'extra', homePaths: ['data/cache'], archivePaths: ['extras/cache'], encrypted: false },
  { name: 'temp', kind: 'extra', homePaths: ['data/temp'], archivePaths: ['extras/temp'], encrypted: false },
];

/** Names users may type, mapped to the catalog name. */
const ALIASES: Record<string, string> = {
  libsql: 'libsql',
  chromadb: 'chromadb',
  semantic: 'chromadb',
  working: 'working',
  lmdb: 'working',
  rocksdb: 'working',
  config: 'config',
  models: 'models',
  cache: 'cache',
  temp: 'temp',
};

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
