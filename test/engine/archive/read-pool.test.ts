import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ReadPool, type HashedRead } from '../../../src/engine/archive/read-pool.js';
import { tempDir } from '../../helpers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest();

async function readThrough(pool: ReadPool, file: string, size: number, recycle: boolean) {
  const result: Partial<HashedRead> = {};
  const hashes: Buffer[] = [];
  const chunks: Buffer[] = [];
  for await (const chunk of pool.read(file, size, 4096, async (h) => void hashes.push(Buffer.from(h)), result)) {
    chunks.push(Buffer.from(chunk));
    if (recycle) pool.release(chunk);
  }
  return { data: Buffer.concat(chunks), blocks: Buffer.concat(hashes), result };
}

test('chunks, block hashes and the file hash match the bytes on disk, with chunk memory recycled', async () => {
  const dir = tempDir();
  const pool = new ReadPool();
  try {
    // Several files in a row, so recycled memory from one is reused for the next.
    for (const size of [0, 16, 4096, 5000, (3 << 20) + 123, 8 << 20]) {
      const content = randomBytes(size);
      const file = path.join(dir, `f${size}`);
      await fs.writeFile(file, content);
      const { data, blocks, result } = await readThrough(pool, file, size, true);
      assert.ok(data.equals(content), `content of a ${size}-byte file`);
      assert.equal(result.sha256, sha(content).toString('hex'));
      assert.equal(result.bytesOnDisk, size);
      const expected = [];
      for (let off = 0; off < size; off += 4096) expected.push(sha(content.subarray(off, off + 4096)));
      assert.ok(blocks.equals(Buffer.concat(expected)), `block hashes of a ${size}-byte file`);
    }
  } finally {
    await pool.close();
  }
});

// Up to 256 KiB a file is read on the calling thread, above it by the worker: both paths, each time.
test('a file that shrank since planning is zero-filled to its planned size and reported', async () => {
  const dir = tempDir();
  const pool = new ReadPool();
  try {
    for (const [had, planned] of [[1.5 * (1 << 20), 3 << 20], [100_000, 200_000]] as const) {
      const file = path.join(dir, `shrunk-${planned}`);
      const content = randomBytes(had);
      await fs.writeFile(file, content);
      const { data, result } = await readThrough(pool, file, planned, false);
      assert.equal(data.length, planned);
      assert.ok(data.subarray(0, content.length).equals(content));
      assert.ok(data.subarray(content.length).every((b) => b === 0));
      assert.equal(result.bytesOnDisk, content.length);
      assert.equal(result.sha256, sha(data).toString('hex'));
    }
  } finally {
    await pool.close();
  }
});

test('a missing file is a NOT_FOUND error naming it, and the pool stays usable', async () => {
  const dir = tempDir();
  const pool = new ReadPool();
  try {
    const missing = path.join(dir, 'gone');
    for (const size of [10, 1 << 20]) await assert.rejects(readThrough(pool, missing, size, false), (e: any) => e.code === 'NOT_FOUND' && e.message.includes(missing));
    const file = path.join(dir, 'here');
    await fs.writeFile(file, 'hello');
    const { data } = await readThrough(pool, file, 5, false);
    assert.equal(data.toString(), 'hello');
  } finally {
    await pool.close();
  }
});
