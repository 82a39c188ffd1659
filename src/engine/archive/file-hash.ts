/**
 * Hashes the first `size` bytes of a file, whole (SHA-256) and per block:
 * the work of file-hash-worker.ts, also run in place by file-hasher.ts for
 * files too small to be worth a thread. A file that shrank is zero-filled to
 * its planned size (and reported through bytesOnDisk), as the read pool does.
 */
import { createHash, hash as oneShot } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

const READ_SIZE = 1 << 20;

export interface HashRequest {
  path: string;
  size: number;
  blockSize: number;
  blocks: boolean;
}

/** A read buffer for `size` bytes: whole blocks, at most 1 MiB. */
export function hashBuffer(size: number, blockSize: number): Uint8Array {
  return new Uint8Array(Math.min(READ_SIZE - (READ_SIZE % blockSize), Math.max(1, Math.ceil(size / blockSize)) * blockSize));
}

export function hashFileSync(msg: HashRequest, buffer: Uint8Array = hashBuffer(msg.size, msg.blockSize)): { hashes: Uint8Array<ArrayBuffer>; sha256: string; bytesOnDisk: number } {
  // Whole blocks per read, so each block is hashed from one read.
  const readSize = buffer.length - (buffer.length % msg.blockSize);
  let fd: number | null = null;
  try {
    fd = openSync(msg.path, 'r');
    const whole = createHash('sha256');
    const blocks = msg.blocks ? Math.ceil(msg.size / msg.blockSize) : 0;
    const hashes = new Uint8Array(new ArrayBuffer(blocks * 32));
    let pos = 0;
    let onDisk = 0;
    while (pos < msg.size) {
      const want = Math.min(readSize, msg.size - pos);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, buffer, got, want - got, pos + got);
        if (n === 0) break;
        got += n;
      }
      onDisk += got;
      buffer.fill(0, got, want);
      const chunk = buffer.subarray(0, want);
      whole.update(chunk);
      if (msg.blocks) hashBlocks(chunk, msg.blockSize, hashes, pos / msg.blockSize);
      pos += want;
      if (got < want) break;
    }
    if (pos < msg.size) {
      const zeros = new Uint8Array(msg.blockSize);
      for (; pos < msg.size; pos += msg.blockSize) {
        const part = zeros.subarray(0, Math.min(msg.blockSize, msg.size - pos));
        whole.update(part);
        if (msg.blocks) hashes.set(oneShot('sha256', part, 'buffer') as unknown as Uint8Array, (pos / msg.blockSize) * 32);
      }
    }
    return { hashes, sha256: whole.digest('hex'), bytesOnDisk: onDisk };
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** The SHA-256 of each `blockSize` block of `chunk`, written into `into` from block `first` on. */
export function hashBlocks(chunk: Uint8Array, blockSize: number, into: Uint8Array, first = 0): void {
  for (let at = 0; at < chunk.length; at += blockSize) {
    into.set(oneShot('sha256', chunk.subarray(at, Math.min(at + blockSize, chunk.length)), 'buffer') as unknown as Uint8Array, (first + at / blockSize) * 32);
  }
}

/**
 * A small file read whole on the calling thread: exactly `size` bytes (zero-filled
 * if it shrank, as the read worker does), its block hashes and its SHA-256.
 */
export function readSmallSync(path: string, size: number, blockSize: number): { data: Buffer; hashes: Buffer; sha256: string; bytesOnDisk: number } {
  const data = Buffer.alloc(size);
  const fd = openSync(path, 'r');
  let got = 0;
  try {
    while (got < size) {
      const n = readSync(fd, data, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  const hashes = Buffer.alloc(Math.ceil(size / blockSize) * 32);
  hashBlocks(data, blockSize, hashes);
  return { data, hashes, sha256: createHash('sha256').update(data).digest('hex'), bytesOnDisk: got };
}
