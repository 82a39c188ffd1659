/** Churns the working memory in its own process (see churnLmdb). Request on stdin, JSON on stdout. */
import { Prng } from './prng.js';
import { churnSampleLmdb } from './churn-lmdb.js';
import { readRequest } from '../proc/request.js';

const req = await readRequest<{ dir: string; seed: number }>();
try {
  process.stdout.write(JSON.stringify(await churnSampleLmdb(req.dir, new Prng(req.seed))));
} catch (error) {
  process.stdout.write(JSON.stringify({ error: (error as Error).message }));
}
process.exit(0);
