import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { deriveLibsqlKey } from '../keys/libsql-key.js';
import { AICO_DEFAULT_PBKDF2_ITERATIONS } from '../home/aico-config.js';
import { LIBSQL_HOME, LIBSQL_SALT_HOME, unitNamed } from '../home/layout.js';
import { seedLibsql } from './seed-libsql.js';
import { seedLmdb } from './seed-lmdb.js';
import { Prng } from './prng.js';

/** The stores AICO's working memory can be, as `demo seed --working` offers them. */
export const WORKING_STORES = ['lmdb', 'rocksdb'] as const;
export type WorkingStore = (typeof WORKING_STORES)[number];

export interface SampleOptions {
  home: string;
  /** Approximate size in MiB, split between the stores. */
  sizeMb: number;
  seed?: number;
  working?: WorkingStore;
  /** Leave out the Chroma store (it needs a Chroma server to build). */
  chroma?: boolean;
}

export interface SampleResult {
  home: string;
  /** This sample's master key (hex); give it as AICO_MASTER_KEY. A sample key, not a secret. */
  masterKey: string;
  bytes: number;
  files: number;
  databases: Record<string, Record<string, unknown>>;
}


export const SAMPLE_MARKER = '.aico-sample';

/** The seed of a home built by seedSample, or null for any other home (a real one). */
export async function sampleSeedOf(home: string): Promise<number | null> {
  const text = await fs.readFile(path.join(home, 'data', SAMPLE_MARKER), 'utf8').catch(() => null);
  const seed = text === null ? NaN : Number(text.trim());
  return Number.isSafeInteger(seed) ? seed : null;
}

/** The sample's master key: derived from the seed, so the same seed gives the same home. */
export function sampleMasterKey(seed: number): string {
  return createHash('sha256').update(`aico-sample-master-key:${seed}`).digest('hex');
}

/**
 * Builds a sample AICO home with the real engines: an encrypted libSQL
 * database keyed exactly as AICO keys it (users, logs, scheduled tasks,
 * events), a Chroma store
 * (conversations and user facts with 768-dim embeddings), LMDB or RocksDB
 * working memory, and config files. Deterministic for a given seed.
 */
export async function seedSample(opts: SampleOptions): Promise<SampleResult> {
  const seed = opts.seed ?? 42;
  const rng = new Prng(seed);
  const total = Math.max(1, opts.sizeMb) * 1024 * 1024;
  const at = (...p: string[]) => path.join(opts.home, ...p.flatMap((x) => x.split('/')));
  await fs.mkdir(at('data', 'memory'), { recursive: true, mode: 0o700 });
  await fs.mkdir(at('config'), { recursive: true, mode: 0o700 });
  // As AICO keeps it in the keyring: 32 bytes as 64 hex characters.
  const masterKey = sampleMasterKey(seed);
  // Marks the home as a sample (outside every backed-up source), so its key may be printed again later.
  await fs.writeFile(at('data', SAMPLE_MARKER), `${seed}\n`, { mode: 0o600 });
  const salt = Buffer.from(Array.from({ length: 16 }, () => rng.int(256)));
  await fs.writeFile(at(LIBSQL_SALT_HOME), salt, { mode: 0o600 });
  const databases: SampleResult['databases'] = {};
  const chroma = opts.chroma ?? true;
  const libsqlKey = await deriveLibsqlKey(Buffer.from(masterKey), salt, AICO_DEFAULT_PBKDF2_ITERATIONS);
  databases.libsql = { tables: seedLibsql(at(LIBSQL_HOME), libsqlKey, rng, total * (chroma ? 0.4 : 0.7)) };
  const semantic = at(unitNamed('chromadb')!.home);
  const working = at(unitNamed('working')!.home);
  if (chroma) {
    const { seedChroma } = await import('./seed-chroma.js');
    const records = Math.max(20, Math.round((total * 0.4) / 6000));
    const facts = Math.max(5, Math.round(records / 8));
    const result = await seedChroma(semantic, { seed, conversations: records - facts, facts });
    databases.chromadb = { collections: result.collections };
  }
  if (opts.working === 'rocksdb') {
    const { seedRocksdb } = await import('./seed-rocksdb.js');
    const messages = Math.max(50, Math.round((total * 0.2) / 300));
    const result = await seedRocksdb(working, { seed, sessions: Math.max(1, Math.round(messages / 40)), messagesPerSession: 40 });
    databases.rocksdb = { entries: result.entries };
  } else {
    databases.lmdb = { entries: await seedLmdb(working, rng, total * (chroma ? 0.2 : 0.3)) };
  }
  const configs: [string, string][] = [
    // AICO's runtime overrides: top-level keys are config domains (shared/aico/core/config.py).
    ['runtime.yaml', 'core:\n  logging:\n    level: INFO\n'],
    ['user_preferences.json', `${JSON.stringify({ name: 'Sam', voice: 'warm', theme: 'dark' }, null, 2)}\n`],
    ['models.yaml', 'models:\n  conversation: hermes3:8b\n  embedding: paraphrase-multilingual:768\n'],
  ];
  for (const [name, content] of configs) await fs.writeFile(at('config', name), content, { mode: 0o600 });
  const { bytes, files } = await measure(opts.home);
  return { home: opts.home, masterKey, bytes, files, databases };
}

async function measure(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    bytes += (await fs.stat(path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))).size;
    files++;
  }
  return { bytes, files };
}
