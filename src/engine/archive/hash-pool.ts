import { createHash } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { spawnSiblingWorker } from '../proc/sibling.js';
import { hashBlocks } from './file-hash.js';

/** Chunks queued per file before update() waits: bounds memory when the worker falls behind. */
const MAX_IN_FLIGHT = 8;
/** Entries up to this size are hashed on the calling thread: starting the worker costs more than hashing them. */
const INLINE_BYTES = 256 * 1024;


export interface FileDigests {
  /** SHA-256 of the whole content (hex). */
  sha256: string;
  /** SHA-256 over the concatenated block hashes (hex), to compare with manifest.blocks. */
  run: string;
}

/**
 * Main-thread side of hash-worker.ts: whole-file and block digests, off
 * the main thread. Chunks are copied to the worker (they are views into
 * decompressed frames that the tar parser still reads).
 */
export class HashPool {
  private started: Worker | null = null;
  private nextId = 1;
  private readonly waiters = new Map<number, { acks: number; wake: (() => void) | null; done: ((d: FileDigests) => void) | null; fail: ((e: Error) => void) | null }>();
  private crashed: Error | null = null;

  /** Started by the first entry that needs it: verifying or restoring a small home starts none. */
  private get worker(): Worker {
    if (this.started) return this.started;
    const worker = spawnSiblingWorker(import.meta.url, 'hash-worker', { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 32 });
    this.started = worker;
    worker.on('message', (msg: { type: string; id: number; sha256?: string; run?: string }) => {
      const w = this.waiters.get(msg.id);
      if (!w) return;
      if (msg.type === 'ack') {
        w.acks--;
        w.wake?.();
      } else if (msg.type === 'done') {
        this.waiters.delete(msg.id);
        w.done?.({ sha256: msg.sha256!, run: msg.run! });
      }
    });
    worker.on('error', (error) => {
      this.crashed = error;
      for (const w of this.waiters.values()) {
        w.wake?.();
        w.fail?.(error);
      }
    });
    return worker;
  }

  /** `size`: the entry's length, when known; a small one is hashed here. */
  begin(blockSize: number, size = Infinity): { update(chunk: Buffer): Promise<void>; finish(): Promise<FileDigests> } {
    if (size <= INLINE_BYTES) return inlineDigests(blockSize);
    const id = this.nextId++;
    const state = { acks: 0, wake: null as (() => void) | null, done: null as ((d: FileDigests) => void) | null, fail: null as ((e: Error) => void) | null };
    this.waiters.set(id, state);
    this.worker.postMessage({ type: 'begin', id, blockSize });
    return {
      update: async (chunk: Buffer) => {
        if (this.crashed) throw this.crashed;
        this.worker.postMessage({ type: 'update', id, data: chunk });
        state.acks++;
        while (state.acks > MAX_IN_FLIGHT) {
          await new Promise<void>((resolve) => (state.wake = resolve));
          state.wake = null;
          if (this.crashed) throw this.crashed;
        }
      },
      finish: () =>
        new Promise<FileDigests>((resolve, reject) => {
          if (this.crashed) return reject(this.crashed);
          state.done = resolve;
          state.fail = reject;
          this.worker.postMessage({ type: 'finish', id });
        }),
    };
  }

  async close(): Promise<void> {
    await this.started?.terminate();
  }
}

/** The same digests as hash-worker.ts, for a small entry, on this thread. */
function inlineDigests(blockSize: number): { update(chunk: Buffer): Promise<void>; finish(): Promise<FileDigests> } {
  const chunks: Buffer[] = [];
  return {
    update: async (chunk) => void chunks.push(Buffer.from(chunk)),
    finish: async () => {
      const data = Buffer.concat(chunks);
      const blocks = Buffer.alloc(Math.ceil(data.length / blockSize) * 32);
      hashBlocks(data, blockSize, blocks);
      return { sha256: createHash('sha256').update(data).digest('hex'), run: createHash('sha256').update(blocks).digest('hex') };
    },
  };
}
