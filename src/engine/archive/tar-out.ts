import tar from 'tar-stream';
import { once } from 'node:events';
import { TAR_EOF_BYTES } from './layout.js';

export interface ByteSink {
  write(data: Buffer): Promise<void>;
}

export interface TarEntryHeader {
  name: string;
  size: number;
  mode?: number;
  mtime?: Date;
}

/**
 * A tar-stream pack whose output is pumped into an async sink. With
 * `keepOpen`, the two zero blocks that end the tar are held back and dropped,
 * so a second TarOut can continue the same tar stream (the archive's tail
 * must start at a frame boundary, after everything else is written).
 */
export class TarOut {
  private readonly pack = tar.pack();
  private readonly pump: Promise<void>;
  private held: Buffer = Buffer.alloc(0);
  /**
   * Why the sink stopped taking bytes (a full disk, say). Leaving the pump
   * destroys the pack, which fails the entry being written with a bare "tar
   * entry destroyed"; callers get this error instead.
   */
  private sinkError: Error | undefined;

  constructor(
    private readonly sink: ByteSink,
    private readonly keepOpen: boolean,
    /** Called with each chunk once the sink has consumed it, so its memory can be reused. */
    private readonly release?: (chunk: Buffer) => void,
  ) {
    this.pump = this.run();
    this.pump.catch(() => {});
  }

  private async run(): Promise<void> {
    for await (const chunk of this.pack as AsyncIterable<Buffer>) {
      try {
        await this.forward(chunk);
      } catch (error) {
        // Recorded before the loop exits and destroys the pack.
        this.sinkError ??= error as Error;
        throw error;
      }
      this.release?.(chunk);
    }
  }

  private async forward(chunk: Buffer): Promise<void> {
    if (!this.keepOpen) {
      await this.sink.write(chunk);
      return;
    }
    // Hold back the last TAR_EOF_BYTES bytes seen so far (copied, so `chunk` can be released).
    const joined = this.held.length + chunk.length;
    if (joined <= TAR_EOF_BYTES) {
      this.held = Buffer.concat([this.held, chunk]);
      return;
    }
    const pass = joined - TAR_EOF_BYTES;
    if (pass <= this.held.length) {
      await this.sink.write(this.held.subarray(0, pass));
      this.held = Buffer.concat([this.held.subarray(pass), chunk]);
    } else {
      if (this.held.length) await this.sink.write(this.held);
      await this.sink.write(chunk.subarray(0, pass - this.held.length));
      this.held = Buffer.from(chunk.subarray(pass - this.held.length));
    }
  }

  async addBuffer(header: TarEntryHeader, data: Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.pack.entry({ ...header, type: 'file' }, data, (err) => (err ? reject(this.sinkError ?? err) : resolve()));
    });
  }

  /** Streams an entry whose size is fixed up front; `chunks` must yield exactly header.size bytes. */
  async addStream(header: TarEntryHeader, chunks: AsyncIterable<Buffer>): Promise<void> {
    let done!: Promise<void>;
    const entry = await new Promise<NodeJS.WritableStream & { write(b: Buffer): boolean; end(): void }>((resolve) => {
      done = new Promise<void>((ok, fail) => {
        const e = this.pack.entry({ ...header, type: 'file' }, (err) => (err ? fail(this.sinkError ?? err) : ok()));
        // When the pack is destroyed mid-entry (cancel, read error) the entry stream emits 'error';
        // the callback above already reports it, and an unheard 'error' event would crash the process.
        e.on('error', () => {});
        resolve(e as never);
      });
    });
    done.catch(() => {});
    for await (const chunk of chunks) {
      if (!entry.write(chunk)) await Promise.race([once(entry as never, 'drain'), done]);
    }
    entry.end();
    await done;
  }

  /** Ends the pack and waits until every byte reached the sink. */
  async finish(): Promise<void> {
    this.pack.finalize();
    await this.pump;
    if (this.keepOpen && (this.held.length !== TAR_EOF_BYTES || this.held.some((b) => b !== 0))) {
      throw new Error('tar stream did not end with its end-of-archive blocks');
    }
  }

  destroy(error: Error): void {
    this.pack.destroy(error);
  }
}
