import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { HashPool } from '../../../src/engine/archive/hash-pool.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest();

// Given its size, an entry up to 256 KiB is hashed on the calling thread, a larger one (or one of unknown size) by the worker.
test('digests equal SHA-256 of the content and of its 4 KiB block hashes, however the chunks are cut, on either path', async () => {
  const pool = new HashPool();
  try {
    const cases = [0, 1, 4095, 4096, 4097, 3 * 4096 + 17, 256 * 1024, (1 << 20) + 5];
    await Promise.all(
      [...cases.map((size) => [size, size] as const), ...cases.map((size) => [size, Infinity] as const)].map(async ([size, given], i) => {
        const content = randomBytes(size);
        const hasher = pool.begin(4096, given);
        // Odd chunk sizes, so blocks straddle chunks.
        for (let off = 0; off < size; ) {
          const n = Math.min(size - off, 1 + ((i * 7919 + off) % 10007));
          await hasher.update(content.subarray(off, off + n));
          off += n;
        }
        const got = await hasher.finish();
        assert.equal(got.sha256, sha(content).toString('hex'), `sha256 of ${size} bytes`);
        const run = createHash('sha256');
        for (let off = 0; off < size; off += 4096) run.update(sha(content.subarray(off, off + 4096)));
        assert.equal(got.run, run.digest('hex'), `block-hash run of ${size} bytes`);
      }),
    );
  } finally {
    await pool.close();
  }
});
