import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { FileHasher } from '../../../src/engine/archive/file-hasher.js';
import { tempDir } from '../../helpers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest();
const blockHashes = (b: Buffer) => {
  const out: Buffer[] = [];
  for (let off = 0; off < b.length; off += 4096) out.push(sha(b.subarray(off, off + 4096)));
  return Buffer.concat(out);
};

// Up to 256 KiB a file is hashed on the calling thread, above it on a worker: the same answers either way.
test('whole-file and block hashes, a shrunk file zero-filled, whole-only hashing, a missing file', async () => {
  const dir = tempDir();
  const hasher = new FileHasher();
  try {
    for (const size of [0, 5000, 256 * 1024, 256 * 1024 + 1, (2 << 20) + 77]) {
      const content = randomBytes(size);
      const file = path.join(dir, `f${size}`);
      await fs.writeFile(file, content);
      const h = await hasher.hash(file, size, 4096);
      assert.equal(h.sha256, sha(content).toString('hex'), `${size} bytes`);
      assert.ok(h.hashes.equals(blockHashes(content)), `block hashes of ${size} bytes`);
      assert.equal(h.bytesOnDisk, size);
      const whole = await hasher.hash(file, size, 4096, false);
      assert.deepEqual([whole.sha256, whole.hashes.length], [h.sha256, 0]);
    }
    for (const [had, planned] of [[3000, 10_000], [1 << 20, 3 << 20]] as const) {
      const file = path.join(dir, `shrunk-${planned}`);
      const content = randomBytes(had);
      await fs.writeFile(file, content);
      const padded = Buffer.concat([content, Buffer.alloc(planned - had)]);
      const h = await hasher.hash(file, planned, 4096);
      assert.deepEqual([h.sha256, h.bytesOnDisk], [sha(padded).toString('hex'), had]);
      assert.ok(h.hashes.equals(blockHashes(padded)));
    }
    for (const size of [10, 1 << 20]) {
      await assert.rejects(hasher.hash(path.join(dir, 'gone'), size, 4096), (e: any) => e.code === 'NOT_FOUND');
    }
  } finally {
    await hasher.close();
  }
});
