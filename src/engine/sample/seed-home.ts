import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { deriveLibsqlKey } from '../keys/master-key.js';
import { Prng } from './prng.js';
import { sentence } from './words.js';

export interface SampleOptions {
  home: string;
  /** Approximate size in MiB, split between the stores. */
  sizeMb: number;
  seed?: number;
  working?: 'lmdb' | 'rocksdb';
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

async function seedLibsql(file: string, key: string, rng: Prng, bytes: number): Promise<Record<string, number>> {
  const { createClient } = await import('@libsql/client');
  const db = createClient({ url: `file:${file}`, encryptionKey: key });
  try {
    await db.execute('PRAGMA journal_mode=WAL');
    await db.batch([
      'CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created TEXT NOT NULL)',
      'CREATE TABLE logs (id INTEGER PRIMARY KEY, ts TEXT NOT NULL, level TEXT NOT NULL, module TEXT NOT NULL, message TEXT NOT NULL)',
      'CREATE TABLE scheduled_tasks (id INTEGER PRIMARY KEY, name TEXT NOT NULL, cron TEXT NOT NULL, enabled INTEGER NOT NULL)',
      'CREATE TABLE config_overrides (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
    ]);
    await db.execute({ sql: 'INSERT INTO users (name, created) VALUES (?, ?)', args: ['Sam', '2026-01-05T09:00:00Z'] });
    const tasks = ['memory_consolidation', 'daily_summary', 'model_cleanup', 'backup'];
    for (const [i, t] of tasks.entries()) {
      await db.execute({ sql: 'INSERT INTO scheduled_tasks (name, cron, enabled) VALUES (?, ?, ?)', args: [t, `${i * 5} 3 * * *`, 1] });
    }
    await db.execute({ sql: 'INSERT INTO config_overrides (key, value) VALUES (?, ?)', args: ['voice.speed', '1.1'] });
    const logs = Math.max(100, Math.round(bytes / 220));
    const levels = ['DEBUG', 'INFO', 'INFO', 'INFO', 'WARNING'];
    const modules = ['conversation', 'memory', 'scheduler', 'llm', 'api'];
    for (let done = 0; done < logs; ) {
      const n = Math.min(2000, logs - done);
      const stmts = [];
      for (let i = 0; i < n; i++) {
        stmts.push({
          sql: 'INSERT INTO logs (ts, level, module, message) VALUES (?, ?, ?, ?)',
          args: [new Date(1.77e12 + (done + i) * 1000).toISOString(), rng.pick(levels), rng.pick(modules), sentence(rng, 10, 20)],
        });
      }
      await db.batch(stmts, 'write');
      done += n;
    }
    await db.execute('PRAGMA wal_checkpoint(TRUNCATE)');
    return { users: 1, logs, scheduled_tasks: tasks.length, config_overrides: 1 };
  } finally {
    db.close();
  }
}

async function seedLmdb(dir: string, rng: Prng, bytes: number): Promise<number> {
  const { open } = await import('lmdb');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const db = open({ path: dir });
  try {
    const messages = Math.max(50, Math.round(bytes / 300));
    const sessions = Math.max(1, Math.round(messages / 40));
    await db.transaction(() => {
      for (let s = 0; s < sessions; s++) {
        db.put(`session:${s}`, { user_id: 1, started: new Date(1.77e12 + s * 3.6e6).toISOString(), state: 'closed' });
      }
      for (let m = 0; m < messages; m++) {
        db.put(`message:${m % sessions}:${m}`, { role: m % 2 ? 'assistant' : 'user', text: sentence(rng, 8, 30), ts: 1.77e12 + m * 1000 });
      }
    });
    return sessions + messages;
  } finally {
    await db.close();
  }
}

/**
 * Builds a sample AICO home with the real engines: an encrypted libSQL
 * database (users, logs, scheduled tasks, config overrides), a Chroma store
 * (conversations and user facts with 768-dim embeddings), LMDB or RocksDB
 * working memory, and config files. Deterministic for a given seed.
 */
export async function seedSample(opts: SampleOptions): Promise<SampleResult> {
  const seed = opts.seed ?? 42;
  const rng = new Prng(seed);
  const total = Math.max(1, opts.sizeMb) * 1024 * 1024;
  const at = (...p: string[]) => path.join(opts.home, ...p);
  await fs.mkdir(at('data', 'memory'), { recursive: true, mode: 0o700 });
  await fs.mkdir(at('config'), { recursive: true, mode: 0o700 });
  const masterKey = sampleMasterKey(seed);
  // Marks the home as a sample (outside every backed-up source), so its key may be printed again later.
  await fs.writeFile(at('data', SAMPLE_MARKER), `${seed}\n`, { mode: 0o600 });
  const salt = Buffer.from(Array.from({ length: 16 }, () => rng.int(256)));
  await fs.writeFile(at('data', 'aico.db.salt'), salt, { mode: 0o600 });
  const databases: SampleResult['databases'] = {};
  const chroma = opts.chroma ?? true;
  databases.libsql = { tables: await seedLibsql(at('data', 'aico.db'), deriveLibsqlKey(Buffer.from(masterKey), salt), rng, total * (chroma ? 0.4 : 0.7)) };
  if (chroma) {
    const { seedChroma } = await import('./seed-chroma.js');
    const records = Math.max(20, Math.round((total * 0.4) / 6000));
    const facts = Math.max(5, Math.round(records / 8));
    const result = await seedChroma(at('data', 'memory', 'semantic'), { seed, conversations: records - facts, facts });
    databases.chromadb = { collections: result.collections };
  }
  if (opts.working === 'rocksdb') {
    const { seedRocksdb } = await import('./seed-rocksdb.js');
    const messages = Math.max(50, Math.round((total * 0.2) / 300));
    const result = await seedRocksdb(at('data', 'memory', 'working'), { seed, sessions: Math.max(1, Math.round(messages / 40)), messagesPerSession: 40 });
    databases.rocksdb = { entries: result.entries };
  } else {
    databases.lmdb = { entries: await seedLmdb(at('data', 'memory', 'working'), rng, total * (chroma ? 0.2 : 0.3)) };
  }
  const configs: [string, string][] = [
    ['runtime.yaml', 'runtime:\n  log_level: info\n  language: en\n'],
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
