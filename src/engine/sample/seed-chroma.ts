import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ChromaClient, type Collection, type Metadata } from 'chromadb';
import { startChroma } from '../sources/chroma-server.js';
import { Prng } from './prng.js';
import { sentence, WORDS } from './words.js';

export interface SeedChromaOptions {
  seed: number;
  conversations: number;
  facts: number;
}

export interface SeedChromaResult {
  /** Records per collection, as the server counts them after seeding. */
  collections: Record<string, number>;
  bytes: number;
}

/** The embedding size of AICO's default model (paraphrase-multilingual-mpnet-base-v2). */
export const EMBEDDING_DIM = 768;
const BATCH = 256;

const USERS = ['user-ana', 'user-ben', 'user-chloe'];
const CATEGORIES = ['family', 'preference', 'health', 'work', 'hobby', 'routine'];
const FACTS = [
  (r: Prng) => `Has a ${r.pick(['sister', 'brother', 'cousin', 'daughter'])} who loves ${r.pick(WORDS)}.`,
  (r: Prng) => `Prefers ${r.pick(['tea', 'coffee', 'cocoa'])} in the ${r.pick(['morning', 'evening'])}.`,
  (r: Prng) => `Is learning ${r.pick(['spanish', 'guitar', 'piano', 'pottery'])} on ${r.pick(['weekends', 'weekday evenings'])}.`,
  (r: Prng) => `Feels ${r.pick(['tired', 'calm', 'anxious', 'energetic'])} after ${r.pick(['meetings', 'long walks', 'late dinners'])}.`,
];

/** A unit vector, so cosine and l2 searches both behave as with a real model. */
function embedding(rng: Prng): number[] {
  const v = Array.from({ length: EMBEDDING_DIM }, () => rng.float() * 2 - 1);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

interface Rec {
  id: string;
  document: string;
  metadata: Metadata;
  embedding: number[];
}

/** Where a run of conversation records starts: the seed's beginning, or after the newest record (churn). */
export interface ConversationStart {
  index: number;
  time: number;
  session: number;
}

export const FIRST_CONVERSATION: ConversationStart = { index: 0, time: Date.UTC(2025, 0, 1), session: 0 };

export const recordId = (kind: 'conv' | 'fact', index: number) => `${kind}-${String(index).padStart(6, '0')}`;

export function* conversationRecords(rng: Prng, count: number, start = FIRST_CONVERSATION): Generator<Rec> {
  let time = start.time;
  let session = start.session;
  let turn = 0;
  let user = USERS[0]!;
  for (let i = start.index; i < start.index + count; i++) {
    if (turn === 0) {
      session++;
      user = rng.pick(USERS);
      time += 3_600_000 * (1 + rng.int(48));
    }
    time += 1_000 * (5 + rng.int(120));
    const sentences = Array.from({ length: 2 + rng.int(3) }, () => sentence(rng));
    yield {
      id: recordId('conv', i),
      document: sentences.join(' '),
      metadata: { user_id: user, session_id: `session-${String(session).padStart(5, '0')}`, timestamp: new Date(time).toISOString(), role: turn % 2 === 0 ? 'user' : 'assistant' },
      embedding: embedding(rng),
    };
    turn = (turn + 1) % (2 + 2 * rng.int(6));
  }
}

export function* factRecords(rng: Prng, count: number, first = 0): Generator<Rec> {
  for (let i = first; i < first + count; i++) {
    yield {
      id: recordId('fact', i),
      document: rng.pick(FACTS)(rng),
      metadata: { user_id: rng.pick(USERS), category: rng.pick(CATEGORIES), confidence: Math.round((0.5 + rng.float() * 0.5) * 100) / 100 },
      embedding: embedding(rng),
    };
  }
}

/** A collection as the seed makes it: embeddings given, cosine space. */
export function sampleCollection(client: ChromaClient, name: string): Promise<Collection> {
  return client.getOrCreateCollection({ name, embeddingFunction: null, configuration: { hnsw: { space: 'cosine' } } });
}

/** Writes the records BATCH at a time. */
export async function upsertAll(collection: Collection, records: Iterable<Rec>): Promise<void> {
  let batch: Rec[] = [];
  const flush = async () => {
    if (!batch.length) return;
    await collection.upsert({
      ids: batch.map((r) => r.id),
      documents: batch.map((r) => r.document),
      metadatas: batch.map((r) => r.metadata),
      embeddings: batch.map((r) => r.embedding),
    });
    batch = [];
  };
  for (const rec of records) {
    batch.push(rec);
    if (batch.length === BATCH) await flush();
  }
  await flush();
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await fs.stat(path.join(e.parentPath, e.name))).size;
  }
  return total;
}

/**
 * Builds a Chroma store like AICO's semantic memory through a real server:
 * same seed, same ids, documents and embeddings. Precomputed embeddings, so
 * no embedding model is downloaded.
 */
export async function seedChroma(persistDir: string, opts: SeedChromaOptions): Promise<SeedChromaResult> {
  await fs.mkdir(persistDir, { recursive: true, mode: 0o700 });
  const server = await startChroma(persistDir);
  const collections: Record<string, number> = {};
  try {
    const client = new ChromaClient({ host: '127.0.0.1', port: server.port, ssl: false });
    // Separate streams per collection, so changing one count leaves the other collection identical.
    const plan: [string, Iterable<Rec>][] = [
      ['conversations', conversationRecords(new Prng(opts.seed), opts.conversations)],
      ['user_facts', factRecords(new Prng(opts.seed ^ 0x5f5f), opts.facts)],
    ];
    for (const [name, records] of plan) {
      const collection = await sampleCollection(client, name);
      await upsertAll(collection, records);
      collections[name] = await collection.count();
    }
  } finally {
    await server.stop();
  }
  return { collections, bytes: await dirSize(persistDir) };
}
