import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError } from '../errors.js';
import { LIBSQL_HOME, unitNamed } from '../home/layout.js';
import type { Keyring } from '../keys/keyring.js';
import { explicitLibsqlKey, libsqlKeyFor } from '../keys/libsql-key.js';
import { resolveMasterKey } from '../keys/master-key.js';
import { churnLibsql, type LibsqlChurn } from './churn-libsql.js';
import { Prng } from './prng.js';

export interface ChurnOptions {
  home: string;
  seed?: number;
  /** Also rewrite this share (0 < p <= 100) of the existing log rows, scattered. */
  percent?: number | null;
  /** Where the master key is looked up (default: the system keyring, then $AICO_MASTER_KEY). */
  keyring?: Keyring;
  env?: NodeJS.ProcessEnv;
}

export interface ChurnResult {
  home: string;
  seed: number;
  percent: number | null;
  libsql: LibsqlChurn;
  chromadb: { conversations_added: number; facts_added: number } | null;
  lmdb: { rewritten: number; added: number } | null;
  /** Stores left as they were, and why (a home without Chroma, RocksDB working memory). */
  skipped: Record<string, string>;
  duration_ms: number;
}

const exists = (p: string) => fs.stat(p).then(() => true, () => false);

/** The libSQL key as create gets it: $AICO_LIBSQL_KEY, else derived from the master key and the salt. */
async function libsqlKey(home: string, opts: ChurnOptions): Promise<string> {
  const env = opts.env ?? process.env;
  const explicit = explicitLibsqlKey(env);
  if (explicit) return explicit;
  const resolved = await resolveMasterKey(opts.keyring, env);
  try {
    const derived = await libsqlKeyFor(home, resolved.key, { env });
    if (derived.key) return derived.key;
    throw new AicoError('DATABASE_INVALID', `Cannot open ${path.join(home, LIBSQL_HOME)}: ${derived.problem}.`, {
      hint: 'A sample home opens with its sample key: export AICO_MASTER_KEY as "aico demo seed" printed it.',
    });
  } finally {
    resolved.key?.fill(0);
  }
}

/** The engine's codes for what the user can act on: a wrong key, AICO holding the database. */
function libsqlErrors<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'SQLITE_NOTADB') {
      throw new AicoError('DATABASE_INVALID', `${file} does not open with its key (wrong master key, or not a database).`, {
        hint: 'Check AICO_MASTER_KEY (a sample home\'s is printed by "aico demo seed") and AICO_LIBSQL_KEY, if set.',
        cause: error,
      });
    }
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new AicoError('DATABASE_IN_USE', `${file} is locked by another process.`, { hint: 'Stop AICO and run the churn again.', cause: error });
    }
    throw error;
  }
}

/**
 * Changes a sample home as a day of AICO use would (libSQL rows appended and
 * updated, conversations and facts added to Chroma, working memory rewritten
 * and extended), the same way for the same seed, so incremental backups have
 * something realistic to find. Each store gets its own random stream: one
 * store's size does not change what another receives.
 */
export async function churnHome(opts: ChurnOptions): Promise<ChurnResult> {
  const started = Date.now();
  const seed = opts.seed ?? 1;
  const percent = opts.percent ?? null;
  if (!Number.isSafeInteger(seed)) throw new AicoError('USAGE', `--seed must be an integer (got ${seed}).`);
  if (percent !== null && !(Number.isFinite(percent) && percent > 0 && percent <= 100)) {
    throw new AicoError('USAGE', `--percent must be a number above 0 and at most 100 (got ${percent}).`);
  }
  const at = (rel: string) => path.join(opts.home, ...rel.split('/'));
  const db = at(LIBSQL_HOME);
  if (!(await exists(db))) {
    throw new AicoError('NOT_FOUND', `No AICO data found in ${opts.home} (no ${LIBSQL_HOME}).`, {
      hint: 'Point --home at a home built by "aico demo seed" (or seed one there first).',
    });
  }
  const key = await libsqlKey(opts.home, opts);
  const libsql = libsqlErrors(db, () => churnLibsql(db, key, new Prng(seed), percent));
  const skipped: Record<string, string> = {};
  const semantic = at(unitNamed('chromadb')!.home);
  let chromadb: ChurnResult['chromadb'] = null;
  if (await exists(path.join(semantic, 'chroma.sqlite3'))) {
    const { churnChroma } = await import('./churn-chroma.js');
    chromadb = await churnChroma(semantic, seed);
  } else skipped.chromadb = `no Chroma store in ${semantic}`;
  const working = at(unitNamed('working')!.home);
  let lmdb: ChurnResult['lmdb'] = null;
  if (await exists(path.join(working, 'data.mdb'))) {
    const { churnLmdb } = await import('./churn-lmdb.js');
    lmdb = await churnLmdb(working, seed ^ 0x6c6d);
  } else {
    skipped.working = (await exists(path.join(working, 'CURRENT'))) ? 'RocksDB working memory is not churned' : `no working memory in ${working}`;
  }
  return { home: opts.home, seed, percent, libsql, chromadb, lmdb, skipped, duration_ms: Date.now() - started };
}
