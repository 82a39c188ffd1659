import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { fromFsError } from '../errors.js';
import { spawnSiblingWorker } from '../proc/sibling.js';
import { hashFileSync } from './file-hash.js';

export interface FileHashes {
  /** The SHA-256 of each block, back to back. */
  hashes: Buffer;
  sha256: string;
  /** Bytes found on disk: less than planned if the file shrank (the rest hashed as zeros). */
  bytesOnDisk: number;
}

type Reply = { id: number; hashes?: Uint8Array; sha256?: string; bytesOnDisk?: number; error?: { code: string | null; message: string } };

/**
 * Hashes whole files on worker threads, one file per worker at a time, as
 * many workers as cores: an incremental backup reads every byte of the home
 * to find the few blocks that changed, and hashing is all of that work.
 */
/** Files up to this size are hashed on the calling thread: starting a worker costs more than hashing them. */
const INLINE_BYTES = 256 * 1024;

export class FileHasher {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: (() => void)[] = [];
  private readonly pending = new Map<number, { resolve: (h: FileHashes) => void; reject: (e: Error) => void; path: string }>();
  private nextId = 1;

  /** Workers are started when a file needs one, up to `count`: a small home's backup starts none. */
  constructor(private readonly count = Math.max(1, Math.min(4, availableParallelism()))) {}

  private spawn(): void {
    const worker = spawnSiblingWorker(import.meta.url, 'file-hash-worker', { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 32 });
    worker.on('message', (msg: Reply) => this.settle(worker, msg));
    worker.on('error', (error) => {
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    });
    this.workers.push(worker);
    this.idle.push(worker);
  }

  /** The hashes of the first `size` bytes of `path`, in `blockSize` blocks; `blocks` false: the whole-file SHA-256 only (`hashes` empty). */
  hash(path: string, size: number, blockSize: number, blocks = true): Promise<FileHashes> {
    if (size <= INLINE_BYTES) {
      try {
        const r = hashFileSync({ path, size, blockSize, blocks });
        return Promise.resolve({ hashes: Buffer.from(r.hashes.buffer, r.hashes.byteOffset, r.hashes.byteLength), sha256: r.sha256, bytesOnDisk: r.bytesOnDisk });
      } catch (error) {
        return Promise.reject(fromFsError(error as Error, path));
      }
    }
    if (this.idle.length === 0 && this.workers.length < this.count) this.spawn();
    return new Promise((resolve, reject) => {
      const start = () => {
        const worker = this.idle.pop()!;
        const id = this.nextId++;
        this.pending.set(id, { resolve, reject, path });
        worker.postMessage({ id, path, size, blockSize, blocks });
      };
      if (this.idle.length > 0) start();
      else this.queue.push(start);
    });
  }

  private settle(worker: Worker, msg: Reply): void {
    const p = this.pending.get(msg.id);
    this.pending.delete(msg.id);
    this.idle.push(worker);
    this.queue.shift()?.();
    if (!p) return;
    if (msg.error) p.reject(fromFsError(Object.assign(new Error(msg.error.message), { code: msg.error.code ?? undefined }), p.path));
    else p.resolve({ hashes: Buffer.from(msg.hashes!.buffer, msg.hashes!.byteOffset, msg.hashes!.byteLength), sha256: msg.sha256!, bytesOnDisk: msg.bytesOnDisk! });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
