import { promises as fs } from 'node:fs';
import { fromFsError, throwIfAborted } from '../errors.js';
import { BlockHasher } from './block-hasher.js';

const READ_SIZE = 1 << 20;

export interface HashedRead {
  sha256: string;
  /** Bytes actually found on disk (differs from the planned size if the file changed). */
  bytesOnDisk: number;
}

/**
 * Reads exactly `size` bytes of a file in 1 MiB pieces through a BlockHasher.
 * If the file shrank meanwhile, the rest is zero-filled so the tar entry
 * keeps its declared size; the caller learns it from `bytesOnDisk` and warns.
 */
export async function* readHashed(
  path: string,
  size: number,
  blockSize: number,
  onBlock: (hash: Buffer) => Promise<void>,
  result: Partial<HashedRead>,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'r');
  } catch (error) {
    throw fromFsError(error, path);
  }
  const hasher = new BlockHasher(blockSize, onBlock);
  let pos = 0;
  let onDisk = 0;
  try {
    while (pos < size) {
      throwIfAborted(signal);
      const want = Math.min(READ_SIZE, size - pos);
      const chunk = Buffer.allocUnsafe(want);
      let got = 0;
      while (onDisk === pos + got && got < want) {
        const { bytesRead } = await handle.read(chunk, got, want - got, pos + got).catch((error) => {
          throw fromFsError(error, path);
        });
        if (bytesRead === 0) break;
        got += bytesRead;
        onDisk += bytesRead;
      }
      if (got < want) chunk.fill(0, got);
      pos += want;
      await hasher.update(chunk);
      yield chunk;
    }
    result.sha256 = await hasher.finish();
    result.bytesOnDisk = onDisk;
  } finally {
    await handle.close();
  }
}
