/**
 * The process a Chroma server check runs in (chroma-check.ts starts it):
 * argv[2] is the throwaway copy to serve, argv[3], when given, the `ip` to
 * bring up the loopback of the private network namespace it was started in.
 * It starts the server, asks it what the check needs, and writes the answer
 * as the last line of stdout (a library may print before it):
 * {"result": ServerCheck} or {"error": {code, message, details}}.
 * The server and its client must share the namespace, so both run here.
 */
import { execFileSync } from 'node:child_process';
import type { Collection } from 'chromadb';
import { AicoError, isAicoError } from '../errors.js';
import type { ServerCheck } from './chroma-check.js';
import { startChroma } from './chroma-server.js';

/** Chroma's own default tenant and database; AICO keeps everything there. */
const TENANT = 'default_tenant';
const DATABASE = 'default_database';
/** Budget for the requests made to a validation server once it is up. */
const VALIDATE_REQUESTS_MS = 60_000;

const message = (error: unknown) => (error as Error)?.message ?? String(error);

/** What the real server says: every collection listed, counted, and one record read back with its embedding. */
async function queryServer(location: string): Promise<ServerCheck> {
  const server = await startChroma(location);
  const collections: Record<string, number> = {};
  const problems: string[] = [];
  try {
    const requests = AbortSignal.timeout(VALIDATE_REQUESTS_MS);
    const { ChromaClient } = await import('chromadb');
    const client = new ChromaClient({ host: '127.0.0.1', port: server.port, ssl: false, tenant: TENANT, database: DATABASE, fetchOptions: { signal: requests } });
    const listed: Collection[] = [];
    for (let offset = 0; ; offset += 100) {
      const page = await client.listCollections({ limit: 100, offset });
      listed.push(...page);
      if (page.length < 100) break;
    }
    for (const collection of listed) {
      try {
        const count = await collection.count();
        collections[collection.name] = count;
        if (count === 0) continue;
        const got = await collection.get({ limit: 1, include: ['embeddings', 'documents', 'metadatas'] });
        const vector = got.embeddings?.[0];
        if (got.ids.length !== 1 || !vector || vector.length === 0) {
          problems.push(`Collection "${collection.name}" reports ${count} records but none could be read back.`);
          continue;
        }
        // A query goes through the HNSW index, which get() does not need.
        const hit = await collection.query({ queryEmbeddings: [Array.from(vector)], nResults: 1, include: [] });
        if (!hit.ids[0]?.length) problems.push(`Collection "${collection.name}": a nearest-neighbour query found nothing.`);
      } catch (error) {
        problems.push(`Collection "${collection.name}" cannot be read: ${message(error)}`);
      }
    }
  } catch (error) {
    problems.push(`The Chroma server could not read the store: ${message(error)}`);
  } finally {
    await server.stop();
  }
  return { collections, problems };
}

const [location, ip] = process.argv.slice(2);
if (!location) throw new Error('usage: chroma-check-child DIR [IP]');

// Cancelling is stopping this process: process.exit runs chroma-server's exit handler, which kills the server and forgets its record.
// The process that started us decides about Ctrl-C (it stops us with SIGTERM); dying first would look like a failed check.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => process.exit(143));
// Our stdin is a pipe from that process: it closes when that process dies, however it dies.
process.stdin.on('data', () => {});
process.stdin.on('close', () => process.exit(1));
process.stdin.on('error', () => process.exit(1));

let answer: unknown;
try {
  // A new network namespace's loopback is down: nothing, not even the server's own client, could connect.
  if (ip) execFileSync(ip, ['link', 'set', 'lo', 'up'], { stdio: ['ignore', 'ignore', 'pipe'] });
  answer = { result: await queryServer(location) };
} catch (error) {
  const e = isAicoError(error) ? error : new AicoError('DATABASE_INVALID', `The Chroma server check failed: ${message(error)}`);
  answer = { error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } };
}
process.stdout.write(`\n${JSON.stringify(answer)}\n`, () => process.exit(0));
