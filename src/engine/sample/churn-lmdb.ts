import { runSiblingChild } from '../proc/sibling.js';
import { loadLmdb } from '../sources/lmdb-native.js';
import { Prng } from './prng.js';
import { AICO_NAMED_DATABASES } from './seed-lmdb.js';
import { sentence } from './words.js';

export interface LmdbChurn {
  rewritten: number;
  added: number;
}

/** Rewrites and appends working-memory entries in a child, for the reason seedLmdb gives. */
export async function churnLmdb(dir: string, seed: number): Promise<LmdbChurn> {
  const result = await runSiblingChild(import.meta.url, 'churn-lmdb-child', { dir, seed });
  const reply = 'reply' in result ? result.reply : null;
  if (typeof reply?.rewritten !== 'number' || typeof reply.added !== 'number') {
    throw new Error(`churning LMDB in ${dir} failed: ${JSON.stringify(reply ?? result)}`);
  }
  return { rewritten: reply.rewritten, added: reply.added };
}

/** "<conversation_id>:<iso time>Z" (as seedLmdb writes keys) -> the time in ms, or NaN. */
const keyTime = (key: string) => Date.parse(key.slice(key.indexOf(':') + 1).replace(/Z+$/, 'Z'));

/**
 * The child's part (churn-lmdb-child.ts): 2% (at least 50) of session_memory
 * rewritten with new content at places spread over the whole b-tree, and 1%
 * new messages after the newest, in one write transaction.
 */
export async function churnSampleLmdb(dir: string, rng: Prng): Promise<LmdbChurn> {
  const { open } = await loadLmdb();
  const binary = { encoding: 'binary', keyEncoding: 'binary' } as const;
  const env = open({ path: dir, maxDbs: AICO_NAMED_DATABASES.length + 1, ...binary });
  const messages = env.openDB({ name: 'session_memory', ...binary });
  const sessions = env.openDB({ name: 'user_sessions', ...binary });
  try {
    const keys = [...messages.getKeys()].map((k) => Buffer.from(k as Uint8Array));
    const conversations = Math.max(1, [...sessions.getKeys()].length);
    const rewrite = Math.min(keys.length, Math.max(50, Math.round(keys.length * 0.02)));
    const add = Math.max(1, Math.round(keys.length * 0.01));
    const newest = keys.reduce((max, k) => Math.max(max, keyTime(k.toString('utf8')) || 0), 1.77e12);
    await env.transaction(() => {
      for (let i = 0; i < rewrite; i++) {
        const j = i + rng.int(keys.length - i);
        [keys[i], keys[j]] = [keys[j]!, keys[i]!];
        let value: Record<string, unknown> = {};
        try {
          value = JSON.parse(Buffer.from(messages.get(keys[i]!) as Uint8Array).toString('utf8')) as Record<string, unknown>;
        } catch {
          // Not JSON (not a sample's entry): replaced whole.
        }
        messages.put(keys[i]!, Buffer.from(JSON.stringify({ ...value, content: sentence(rng, 8, 30) })));
      }
      for (let m = 0; m < add; m++) {
        const at = new Date(newest + (m + 1) * 1000).toISOString();
        const value = { role: m % 2 ? 'assistant' : 'user', content: sentence(rng, 8, 30), message_type: 'text', _stored_at: `${at}Z` };
        messages.put(Buffer.from(`conv-${rng.int(conversations)}:${at}Z`), Buffer.from(JSON.stringify(value)));
      }
    });
    return { rewritten: rewrite, added: add };
  } finally {
    await env.close();
  }
}
