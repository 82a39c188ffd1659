import { OrderedPool } from './ordered-pool.js';
import type { Codec } from './types.js';

export interface CompressedSink {
  write(frame: Buffer): Promise<void>;
}

/**
 * Cuts a byte stream into chunks of `chunkSize`, compresses each as an
 * independent frame on the libuv pool, and writes frames in order. Tracks
 * offsets so the archive can record where a given tar offset starts.
 */
export class ChunkCompressor {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly pool: OrderedPool<Buffer>;
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
    this.pool = new OrderedPool<Buffer>(concurrency, async (frame) => {
      this.outputOffset += frame.length;
      await this.sink.write(frame);
    });
  }

  async write(data: Buffer): Promise<void> {
    this.inputOffset += data.length;
    let rest = data;
    while (this.pendingBytes + rest.length >= this.chunkSize) {
      const take = this.chunkSize - this.pendingBytes;
      this.pending.push(rest.subarray(0, take));
      rest = rest.subarray(take);
      await this.submitPending();
    }
    if (rest.length > 0) {
      // Copy: the producer may reuse its buffer once we return.
      this.pending.push(Buffer.from(rest));
      this.pendingBytes += rest.length;
    }
  }

  /** Ends the current frame early so the next input byte starts a new frame. */
  async cut(): Promise<void> {
    if (this.pendingBytes > 0) await this.submitPending();
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
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    await this.pool.submit(() => this.codec.compressFrame(chunk, this.level));
  }
}
