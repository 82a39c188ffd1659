import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Prng } from './prng.js';

export interface RocksdbSeedOptions {
  seed: number;
  sessions: number;
  messagesPerSession: number;
}

type Callback = (err?: Error | null) => void;
interface RawDb {
  open(opts: object, cb: Callback): void;
  batch(ops: { type: 'put'; key: string; value: string }[], cb: Callback): void;
  close(cb: Callback): void;
}

const require = createRequire(import.meta.url);
const call = (fn: (cb: Callback) => void) => new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));

const WORDS = (
  'remember you said yesterday morning walk garden coffee sister birthday plan music dinner felt happy ' +
  'tired worried excited book chapter learn spanish guitar practice work meeting friend weekend trip rain'
).split(' ');
const STATES = ['active', 'idle', 'closed'] as const;

function text(rng: Prng): string {
  const n = 5 + rng.int(40);
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(rng.pick(WORDS));
  return `${words.join(' ')}.`;
}

/** Sessions are written over this many runs of the "app"; each reopen flushes the last run's WAL into a table. */
const RUNS = 4;

/**
 * Working memory as AICO keeps it: `session:<id>` and `message:<session>:<n>` JSON values.
 * The same seed gives the same entries. Reopening between runs leaves several .sst files
 * (three recovery flushes stay below RocksDB's L0 compaction trigger of four) and the
 * last run's writes in the WAL, as in a store AICO stopped normally.
 */
export async function seedRocksdb(dir: string, opts: RocksdbSeedOptions): Promise<{ entries: number; bytes: number }> {
  const rng = new Prng(opts.seed);
  await fs.mkdir(path.dirname(dir), { recursive: true, mode: 0o700 });
  const open = require('rocksdb') as (location: string) => RawDb;
  let entries = 0;
  let s = 0;
  for (let run = 0; run < RUNS; run++) {
    const db = open(dir);
    await call((cb) => db.open({ createIfMissing: true }, cb));
    try {
      for (const end = Math.round((opts.sessions * (run + 1)) / RUNS); s < end; s++) entries += await writeSession(db, rng, s, opts.messagesPerSession);
    } finally {
      await call((cb) => db.close(cb));
    }
  }
  let bytes = 0;
  for (const name of await fs.readdir(dir)) bytes += (await fs.stat(path.join(dir, name))).size;
  return { entries, bytes };
}

async function writeSession(db: RawDb, rng: Prng, s: number, messages: number): Promise<number> {
  const id = `${rng.next().toString(16).padStart(8, '0')}${s.toString(16).padStart(4, '0')}`;
  const started = 1.7e12 + rng.int(3e10);
  let ts = started;
  const ops: { type: 'put'; key: string; value: string }[] = [];
  for (let n = 0; n < messages; n++) {
    ts += 1000 + rng.int(600_000);
    const value = { role: n % 2 ? 'assistant' : 'user', text: text(rng), ts: new Date(ts).toISOString() };
    ops.push({ type: 'put', key: `message:${id}:${String(n).padStart(6, '0')}`, value: JSON.stringify(value) });
  }
  const session = { user_id: `user-${rng.int(4) + 1}`, started: new Date(started).toISOString(), last_active: new Date(ts).toISOString(), state: rng.pick(STATES) };
  ops.push({ type: 'put', key: `session:${id}`, value: JSON.stringify(session) });
  await call((cb) => db.batch(ops, cb));
  return ops.length;
}
