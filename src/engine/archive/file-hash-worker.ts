/**
 * Worker thread of file-hasher.ts: reads one file at a time and hashes it
 * (whole-file SHA-256 and the SHA-256 of each block), handing back only the
 * hashes. An incremental backup reads every file to find what changed but
 * stores little of it, so the bytes never need to leave this thread.
 */
import { createHash, hash as oneShot } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

const READ_SIZE = 1 << 20;
const port = parentPort!;
const buffer = new Uint8Array(READ_SIZE);

port.on('message', (msg: { id: number; path: string; size: number; blockSize: number; blocks: boolean }) => {
  let fd: number | null = null;
  try {
    fd = openSync(msg.path, 'r');
    const whole = createHash('sha256');
    const blocks = msg.blocks ? Math.ceil(msg.size / msg.blockSize) : 0;
    const hashes = new Uint8Array(new ArrayBuffer(blocks * 32));
    let pos = 0;
    let onDisk = 0;
    while (pos < msg.size) {
      const want = Math.min(READ_SIZE - (READ_SIZE % msg.blockSize), msg.size - pos);
      let got = 0;
      // As the read pool does: a file that shrank is zero-filled to its planned size (and reported).
      while (got < want) {
        const n = readSync(fd, buffer, got, want - got, pos + got);
        if (n === 0) break;
        got += n;
      }
      onDisk += got;
      buffer.fill(0, got, want);
      const chunk = buffer.subarray(0, want);
      whole.update(chunk);
      for (let at = 0; msg.blocks && at < want; at += msg.blockSize) {
        const index = (pos + at) / msg.blockSize;
        hashes.set(oneShot('sha256', chunk.subarray(at, Math.min(at + msg.blockSize, want)), 'buffer') as unknown as Uint8Array, index * 32);
      }
      pos += want;
      if (got < want) break;
    }
    // Zero-filled past a short read, as above.
    if (pos < msg.size) {
      const zeros = new Uint8Array(msg.blockSize);
      for (; pos < msg.size; pos += msg.blockSize) {
        const part = zeros.subarray(0, Math.min(msg.blockSize, msg.size - pos));
        whole.update(part);
        if (msg.blocks) hashes.set(oneShot('sha256', part, 'buffer') as unknown as Uint8Array, (pos / msg.blockSize) * 32);
      }
    }
    port.postMessage({ id: msg.id, hashes, sha256: whole.digest('hex'), bytesOnDisk: onDisk }, [hashes.buffer]);
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    port.postMessage({ id: msg.id, error: { code: err?.code ?? null, message: err?.message ?? String(error) } });
  } finally {
    if (fd !== null) closeSync(fd);
  }
});
