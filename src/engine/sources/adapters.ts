import { chromaAdapter } from './chroma.js';
import { libsqlAdapter } from './libsql.js';
import { lmdbAdapter } from './lmdb.js';
import { rocksdbAdapter } from './rocksdb.js';
import type { DatabaseAdapter } from './types.js';

/** Adapters per catalog source, tried in order: the first whose detect() matches takes the snapshot. */
export const DATABASE_ADAPTERS: Record<string, DatabaseAdapter[]> = {
  libsql: [libsqlAdapter],
  chromadb: [chromaAdapter],
  working: [lmdbAdapter, rocksdbAdapter],
};
