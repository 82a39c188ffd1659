import { spawnSiblingWorker } from '../proc/sibling.js';
import type { Worker } from 'node:worker_threads';
import { fromFsError, throwIfAborted } from '../errors.js';
import { readSmallSync } from './file-hash.js';

const READ_SIZE = 1 << 20;
/** Chunks requested ahead of the consumer: enough to hide read latency, few enough to keep memory flat. */
const PREFETCH = 4;

export interface HashedRead {
  sha256: string;
  /** Bytes actually found on disk (differs from the planned size if the file changed). */
  bytesOnDisk: number;
}

type Message =
  | { type: 'chunk'; id: number; data: Uint8Array; hashes: Uint8Array }
  | { type: 'end'; id: number; sha256: string; bytesOnDisk: number }
  | { type: 'error'; id: number; code: string | null; message: string };


/**
 * Main-thread side of read-worker.ts: streams a file as 1 MiB chunks that
 * arrive already hashed. One file at a time; the worker lives as long as the
 * pool.
 */
/** Files up to this size are read on the calling thread: starting the worker costs more than reading them. */
const INLINE_BYTES = 256 * 1024;

export class ReadPool {
  private started: Worker | null = null;
  private nextId = 1;
  private inbox: Message[] = [];
  private wake: (() => void) | null = null;
  private crashed: Error | null = null;
  /** Chunk memory handed out by the worker that may go back to it for reuse. */
  private readonly lent = new WeakSet<ArrayBuffer>();

  /** Started on the first file that needs it: a backup of only small files starts none. */
  private get worker(): Worker {
    if (this.started) return this.started;
    const worker = spawnSiblingWorker(import.meta.url, 'read-worker', { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 32 });
    worker.on('message', (msg: Message) => {
      this.inbox.push(msg);
      this.wake?.();
    });
    worker.on('error', (error) => {
      this.crashed = error;
      this.wake?.();
    });
    return (this.started = worker);
  }

  /**
   * Yields exactly `size` bytes of `path` (zero-filled if the file shrank) and
   * hands every block hash to `onBlocks` in order; `result` is filled at the end.
   */
  async *read(
    path: string,
    size: number,
    blockSize: number,
    onBlocks: (hashes: Buffer) => Promise<void>,
    result: Partial<HashedRead>,
    signal?: AbortSignal,
  ): AsyncGenerator<Buffer> {
    if (size <= INLINE_BYTES) {
      throwIfAborted(signal);
      let small: ReturnType<typeof readSmallSync>;
      try {
        small = readSmallSync(path, size, blockSize);
      } catch (error) {
        throw fromFsError(error as Error, path);
      }
      result.sha256 = small.sha256;
      result.bytesOnDisk = small.bytesOnDisk;
      if (size === 0) return;
      await onBlocks(small.hashes);
      yield small.data;
      return;
    }
    const id = this.nextId++;
    this.inbox = [];
    this.worker.postMessage({ type: 'open', id, path, size, blockSize, readSize: READ_SIZE });
    const chunks = Math.ceil(size / READ_SIZE);
    let requested = 0;
    const request = () => {
      while (requested < chunks && requested < received + PREFETCH) {
        this.worker.postMessage({ type: 'more', id });
        requested++;
      }
    };
    let received = 0;
    let finished = false;
    try {
      request();
      for (;;) {
        throwIfAborted(signal);
        const msg = await this.take(id);
        if (msg.type === 'error') {
          throw fromFsError(Object.assign(new Error(msg.message), { code: msg.code ?? undefined }), path);
        }
        if (msg.type === 'end') {
          result.sha256 = msg.sha256;
          result.bytesOnDisk = msg.bytesOnDisk;
          finished = true;
          return;
        }
        received++;
        request();
        await onBlocks(Buffer.from(msg.hashes.buffer, msg.hashes.byteOffset, msg.hashes.byteLength));
        this.lent.add(msg.data.buffer as ArrayBuffer);
        yield Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
      }
    } finally {
      if (!finished) this.worker.postMessage({ type: 'close', id });
    }
  }

  /**
   * Gives a yielded chunk's memory back to the worker. Only for a chunk that
   * nothing references any more: the transfer empties every view of it.
   */
  release(chunk: Buffer): void {
    const memory = chunk.buffer as ArrayBuffer;
    if (!this.lent.has(memory) || chunk.byteOffset !== 0 || chunk.byteLength !== READ_SIZE || memory.byteLength !== READ_SIZE) return;
    this.lent.delete(memory);
    this.worker.postMessage({ type: 'recycle', memory, readSize: READ_SIZE }, [memory]);
  }

  private async take(id: number): Promise<Message> {
    for (;;) {
      if (this.crashed) throw this.crashed;
      const index = this.inbox.findIndex((m) => m.id === id);
      if (index >= 0) return this.inbox.splice(index, 1)[0]!;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  async close(): Promise<void> {
    await this.started?.terminate();
  }
}
