import type { ArchiveFile } from '../archive/reader.js';

/** The least a ranged GET asks for: one request per small read (list's header peek) is a waste. */
const MIN_FETCH = 64 * 1024;
/** Read-ahead grows to this while reads are sequential (verify, restore). */
const MAX_FETCH = 8 << 20;
/** Fetched ranges kept: the reader's few reads in flight plus the one ahead. */
const KEEP = 6;

interface Chunk {
  start: number;
  end: number;
  data: Promise<Buffer>;
}

/**
 * An archive in a bucket as the reader sees a file: reads become ranged GETs,
 * with read-ahead that doubles while reads follow each other, so a streamed
 * verify makes few large requests and list a single small one.
 */
export class RangedObject implements ArchiveFile {
  private chunks: Chunk[] = [];
  private nextSequential = -1;
  private fetch = MIN_FETCH;

  constructor(
    readonly size: number,
    private readonly getRange: (start: number, endInclusive: number) => Promise<Buffer>,
  ) {}

  async stat(): Promise<{ size: number; isFile(): boolean }> {
    return { size: this.size, isFile: () => true };
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    let done = 0;
    while (done < length && position + done < this.size) {
      const pos = position + done;
      const chunk = this.chunkAt(pos, length - done);
      const data = await chunk.data;
      const n = Math.min(length - done, chunk.start + data.length - pos);
      if (n <= 0) break;
      data.copy(buffer, offset + done, pos - chunk.start, pos - chunk.start + n);
      done += n;
    }
    return { bytesRead: done };
  }

  private chunkAt(pos: number, want: number): Chunk {
    const found = this.chunks.find((c) => c.start <= pos && pos < c.end);
    if (found) return found;
    this.fetch = pos === this.nextSequential ? Math.min(this.fetch * 2, MAX_FETCH) : MIN_FETCH;
    const end = Math.min(this.size, pos + Math.max(want, this.fetch));
    this.nextSequential = end;
    const chunk: Chunk = { start: pos, end, data: this.getRange(pos, end - 1) };
    chunk.data.catch(() => {
      this.chunks = this.chunks.filter((c) => c !== chunk);
    });
    this.chunks.push(chunk);
    if (this.chunks.length > KEEP) this.chunks.shift();
    return chunk;
  }

  async close(): Promise<void> {
    this.chunks = [];
  }
}
