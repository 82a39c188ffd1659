import { promises as fs } from 'node:fs';
import { runSiblingChild } from '../proc/sibling.js';
import { loadLmdb } from '../sources/lmdb-native.js';
import type { Prng } from './prng.js';
import { sentence } from './words.js';

/** AICO's working-memory sub-databases (config/defaults/core.yaml core.memory.working.named_databases). */
export const AICO_NAMED_DATABASES = ['session_memory', 'user_sessions'] as const;

/**
 * Working memory as AICO writes it (shared/aico/ai/memory/working.py): an
 * LMDB directory env whose named databases hold UTF-8 keys
 * ("<conversation_id>:<iso time>Z") and JSON values, in LMDB 0.9's data
 * format, which Python's lmdb writes (loadLmdb refuses any other build).
 */
export async function seedLmdb(dir: string, rng: Prng, bytes: number): Promise<number> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  // In a child: lmdb-js built with LMDB 0.9 keeps an env's files open after close(), and a
  // process holding AICO's working memory open looks to a restore like AICO running.
  const result = await runSiblingChild(import.meta.url, 'seed-lmdb-child', { dir, seed: rng.int(2 ** 31), bytes });
  if (!('reply' in result) || typeof result.reply.entries !== 'number') {
    throw new Error(`seeding LMDB in ${dir} failed: ${JSON.stringify('reply' in result ? result.reply : result)}`);
  }
  return result.reply.entries;
}

/** The child's part (seed-lmdb-child.ts): writes the sample working memory. */
export async function writeSampleLmdb(dir: string, rng: Prng, bytes: number): Promise<number> {
  const { open } = await loadLmdb();
  const env = open({ path: dir, maxDbs: AICO_NAMED_DATABASES.length + 1, encoding: 'binary', keyEncoding: 'binary' });
  const sessions = env.openDB({ name: 'user_sessions', encoding: 'binary', keyEncoding: 'binary' });
  const messages = env.openDB({ name: 'session_memory', encoding: 'binary', keyEncoding: 'binary' });
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  try {
    const count = Math.max(50, Math.round(bytes / 420));
    const conversations = Math.max(1, Math.round(count / 40));
    await env.transaction(() => {
      for (let s = 0; s < conversations; s++) {
        sessions.put(Buffer.from(`sam:conv-${s}`), json({ user_id: 'sam', conversation_id: `conv-${s}`, started_at: new Date(1.77e12 + s * 3.6e6).toISOString() }));
      }
      for (let m = 0; m < count; m++) {
        const at = new Date(1.77e12 + m * 1000).toISOString();
        const value = { role: m % 2 ? 'assistant' : 'user', content: sentence(rng, 8, 30), message_type: 'text', _stored_at: `${at}Z` };
        messages.put(Buffer.from(`conv-${m % conversations}:${at}Z`), json(value));
      }
    });
    return conversations + count;
  } finally {
    await env.close();
  }
}
