import { ChromaClient, type Collection } from 'chromadb';
import { startChroma } from '../sources/chroma-server.js';
import { Prng } from './prng.js';
import { conversationRecords, factRecords, FIRST_CONVERSATION, recordId, sampleCollection, upsertAll, type ConversationStart } from './seed-chroma.js';

export interface ChromaChurn {
  conversations_added: number;
  facts_added: number;
}

/**
 * The first free index of `kind`: the count, as the seed numbers its records
 * from 0, unless a record there already exists (a home not numbered that
 * way), then one past the highest number in use, so an upsert never
 * overwrites a record instead of adding one.
 */
async function nextIndex(collection: Collection, kind: 'conv' | 'fact', count: number, adding: number): Promise<number> {
  const wanted = Array.from({ length: adding }, (_, i) => recordId(kind, count + i));
  if ((await collection.get({ ids: wanted, include: [] })).ids.length === 0) return count;
  const ids = (await collection.get({ include: [] })).ids;
  return ids.reduce((max, id) => Math.max(max, Number(/^\w+-(\d+)$/.exec(id)?.[1] ?? -1)), -1) + 1;
}

/** Continues after the record before `index`: its time and session, so the new turns come later. */
async function startAfter(collection: Collection, index: number): Promise<ConversationStart> {
  if (index === 0) return FIRST_CONVERSATION;
  const last = (await collection.get({ ids: [recordId('conv', index - 1)], include: ['metadatas'] })).metadatas[0];
  const time = Date.parse(String(last?.timestamp ?? ''));
  const session = Number(/(\d+)$/.exec(String(last?.session_id ?? ''))?.[1] ?? 0);
  return { index, time: Number.isFinite(time) ? time : FIRST_CONVERSATION.time, session };
}

/**
 * A day of semantic memory: new conversation segments (2% of those there,
 * at least 20) and a few user facts, through a real Chroma server as AICO
 * writes them. Counts are the server's, before and after.
 */
export async function churnChroma(persistDir: string, seed: number): Promise<ChromaChurn> {
  const server = await startChroma(persistDir);
  try {
    const client = new ChromaClient({ host: '127.0.0.1', port: server.port, ssl: false });
    const conversations = await sampleCollection(client, 'conversations');
    const facts = await sampleCollection(client, 'user_facts');
    const convBefore = await conversations.count();
    const factsBefore = await facts.count();
    const convAdding = Math.max(20, Math.round(convBefore * 0.02));
    const factsAdding = Math.max(3, Math.round(factsBefore * 0.02));
    const start = await startAfter(conversations, await nextIndex(conversations, 'conv', convBefore, convAdding));
    const factStart = await nextIndex(facts, 'fact', factsBefore, factsAdding);
    // Streams of their own (as the seed's), and apart from the seed's for the same number.
    await upsertAll(conversations, conversationRecords(new Prng(seed ^ 0x6368), convAdding, start));
    await upsertAll(facts, factRecords(new Prng(seed ^ 0x6366), factsAdding, factStart));
    return { conversations_added: (await conversations.count()) - convBefore, facts_added: (await facts.count()) - factsBefore };
  } finally {
    await server.stop();
  }
}
