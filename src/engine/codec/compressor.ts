import { OrderedPool } from './ordered-pool.js';
import type { Codec } from './types.js';

export interface CompressedSink {
  write(frame: Buffer): Promise<void>;
}

/**
 * Cuts a byte stream into chunks of `chunkSize`, compresses each as an
 * independent frame on the libuv pool, and writes frames in order. Tracks
 * offsets so the archive can record where a given tar offset starts.
 *
 * Input is copied into a small set of reused chunk buffers: fresh 1 MiB
 * allocations cost page faults and garbage collections that showed up as a
 * third of create's main-thread time. A chunk buffer is reused only after its
 * frame has been written, because codecs may keep reading it until then
 * (the zstd binding compresses from it asynchronously; `none` returns it).
 */
export class ChunkCompressor {
  private current: Buffer;
  private filled = 0;
  private readonly free: Buffer[] = [];
  private readonly pool: OrderedPool<{ frame: Buffer; input: Buffer }>;
  /** Bytes of input accepted so far. */
  inputOffset = 0;
  /** Bytes of output (frames) written so far. */
  outputOffset = 0;

  constructor(
    private readonly codec: Codec,
    private readonly level: number | null,
    private readonly chunkSize: number,
    concurrency: number,
    private readonly sink: CompressedSink,
  ) {
    this.current = Buffer.allocUnsafe(chunkSize);
    this.pool = new OrderedPool(concurrency, async ({ frame, input }) => {
      this.outputOffset += frame.length;
      await this.sink.write(frame);
      this.free.push(input);
    });
  }

  /** Accepts bytes; `data` may be reused by the caller as soon as this returns. */
  async write(data: Buffer): Promise<void> {
    this.inputOffset += data.length;
    let pos = 0;
    while (pos < data.length) {
      const n = Math.min(this.chunkSize - this.filled, data.length - pos);
      data.copy(this.current, this.filled, pos, pos + n);
      this.filled += n;
      pos += n;
      if (this.filled === this.chunkSize) await this.submitPending();
    }
  }

  /** Ends the current frame early so the next input byte starts a new frame. */
  async cut(): Promise<void> {
    if (this.filled > 0) await this.submitPending();
  }

  /** Compresses what is left and waits until every frame has been written; returns the output offset. */
  async end(): Promise<number> {
    await this.cut();
    await this.pool.flush();
    return this.outputOffset;
  }

  /** Output offset once all frames submitted so far are written. */
  async settledOutputOffset(): Promise<number> {
    await this.pool.flush();
    return this.outputOffset;
  }

  /** Writes bytes straight to the sink after all pending frames (e.g. the locator). */
  async writeRaw(bytes: Buffer): Promise<void> {
    await this.pool.flush();
    this.outputOffset += bytes.length;
    await this.sink.write(bytes);
  }

  private async submitPending(): Promise<void> {
    const input = this.current;
    const chunk = input.subarray(0, this.filled);
    this.current = this.free.pop() ?? Buffer.allocUnsafe(this.chunkSize);
    this.filled = 0;
    await this.pool.submit(async () => ({ frame: await this.codec.compressFrame(chunk, this.level), input }));
  }
}
