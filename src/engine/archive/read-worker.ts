/**
 * Worker thread that reads files and hashes them (whole-file SHA-256 and
 * per-block SHA-256), handing each chunk's memory to the main thread by
 * transfer. Hashing and read syscalls are most of create's CPU outside
 * compression; off the main thread they overlap with tar, compression and
 * writing. Protocol: see read-pool.ts.
 */
import { createHash, hash as oneShot, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

interface OpenFile {
  fd: number;
  size: number;
  blockSize: number;
  readSize: number;
  pos: number;
  onDisk: number;
  whole: Hash;
}

const files = new Map<number, OpenFile>();
/** Chunk memory the main thread gave back; reusing it avoids page faults and garbage collection. */
const spare: ArrayBuffer[] = [];
const port = parentPort!;

function fail(id: number, error: unknown): void {
  const err = error as NodeJS.ErrnoException;
  port.postMessage({ type: 'error', id, code: err?.code ?? null, message: err?.message ?? String(error) });
  close(id);
}

function close(id: number): void {
  const file = files.get(id);
  if (!file) return;
  files.delete(id);
  try {
    closeSync(file.fd);
  } catch {
    // Already closed or never usable; nothing to release.
  }
}

function next(id: number): void {
  const f = files.get(id);
  if (!f) return;
  const want = Math.min(f.readSize, f.size - f.pos);
  const memory = want === f.readSize ? spare.pop() : undefined;
  const chunk = new Uint8Array(memory ?? new ArrayBuffer(want));
  let got = 0;
  // Reading stops at EOF; a file that shrank since planning is zero-filled so
  // the tar entry keeps its declared size (the main thread warns).
  while (f.onDisk === f.pos + got && got < want) {
    const n = readSync(f.fd, chunk, got, want - got, f.pos + got);
    if (n === 0) break;
    got += n;
    f.onDisk += n;
  }
  f.pos += want;
  f.whole.update(chunk);
  const blocks = Math.ceil(want / f.blockSize);
  const hashes = new Uint8Array(new ArrayBuffer(blocks * 32));
  for (let b = 0; b < blocks; b++) {
    const start = b * f.blockSize;
    hashes.set(oneShot('sha256', chunk.subarray(start, Math.min(start + f.blockSize, want)), 'buffer') as unknown as Uint8Array, b * 32);
  }
  port.postMessage({ type: 'chunk', id, data: chunk, hashes }, [chunk.buffer, hashes.buffer]);
  if (f.pos >= f.size) {
    port.postMessage({ type: 'end', id, sha256: f.whole.digest('hex'), bytesOnDisk: f.onDisk });
    close(id);
  }
}

port.on('message', (msg: { type: string; id: number; path?: string; size?: number; blockSize?: number; readSize?: number; memory?: ArrayBuffer }) => {
  if (msg.type === 'recycle') {
    if (spare.length < 4 && msg.memory!.byteLength === msg.readSize) spare.push(msg.memory!);
    return;
  }
  try {
    if (msg.type === 'open') {
      const whole = createHash('sha256');
      if (msg.readSize! % msg.blockSize! !== 0) throw new Error('read size must be a multiple of the block size');
      files.set(msg.id, { fd: openSync(msg.path!, 'r'), size: msg.size!, blockSize: msg.blockSize!, readSize: msg.readSize!, pos: 0, onDisk: 0, whole });
      if (msg.size === 0) {
        port.postMessage({ type: 'end', id: msg.id, sha256: whole.digest('hex'), bytesOnDisk: 0 });
        close(msg.id);
      }
    } else if (msg.type === 'more') {
      next(msg.id);
    } else if (msg.type === 'close') {
      close(msg.id);
    }
  } catch (error) {
    fail(msg.id, error);
  }
});
