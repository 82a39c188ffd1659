/**
 * Worker thread of file-hasher.ts: reads one file at a time and hashes it
 * (whole-file SHA-256 and the SHA-256 of each block, file-hash.ts), handing
 * back only the hashes. An incremental backup reads every file to find what
 * changed but stores little of it, so the bytes never need to leave this thread.
 */
import { parentPort } from 'node:worker_threads';
import { hashFileSync, type HashRequest } from './file-hash.js';

const port = parentPort!;
const buffer = new Uint8Array(1 << 20);

port.on('message', (msg: HashRequest & { id: number }) => {
  try {
    const { hashes, sha256, bytesOnDisk } = hashFileSync(msg, buffer);
    port.postMessage({ id: msg.id, hashes, sha256, bytesOnDisk }, [hashes.buffer]);
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    port.postMessage({ id: msg.id, error: { code: err?.code ?? null, message: err?.message ?? String(error) } });
  }
});
