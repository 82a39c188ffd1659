/**
 * Takes the consistent copy of a live LMDB env (lmdb-copy.ts) in its own
 * process: a damaged or foreign env can crash the process that maps it, and
 * the env stays open in a process until it exits. Request on stdin, JSON on stdout.
 */
import { copyEnv } from './lmdb-copy.js';

const parts: Buffer[] = [];
for await (const part of process.stdin) parts.push(part as Buffer);
const req = JSON.parse(Buffer.concat(parts).toString('utf8')) as { location: string; dest: string };
try {
  await copyEnv(req.location, req.dest);
  process.stdout.write(JSON.stringify({ ok: true }));
} catch (error) {
  process.stdout.write(JSON.stringify({ error: (error as Error).message }));
}
process.exit(0);
