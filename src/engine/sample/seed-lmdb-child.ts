/** Writes the sample LMDB working memory in its own process (see seedLmdb). Request on stdin, JSON on stdout. */
import { Prng } from './prng.js';
import { writeSampleLmdb } from './seed-lmdb.js';
import { readRequest } from '../proc/request.js';

const req = await readRequest<{ dir: string; seed: number; bytes: number }>();
try {
  const entries = await writeSampleLmdb(req.dir, new Prng(req.seed), req.bytes);
  process.stdout.write(JSON.stringify({ entries }));
} catch (error) {
  process.stdout.write(JSON.stringify({ error: (error as Error).message }));
}
process.exit(0);
