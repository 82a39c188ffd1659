/**
 * Takes the consistent copy of a live LMDB env (lmdb-copy.ts) in its own
 * process: a damaged or foreign env can crash the process that maps it, and
 * the env stays open in a process until it exits. Request on stdin, JSON on stdout.
 */
import { copyEnv } from './lmdb-copy.js';
import { readRequest } from '../proc/request.js';

const req = await readRequest<{ location: string; dest: string }>();
try {
  await copyEnv(req.location, req.dest);
  process.stdout.write(JSON.stringify({ ok: true }));
} catch (error) {
  process.stdout.write(JSON.stringify({ error: (error as Error).message }));
}
process.exit(0);
