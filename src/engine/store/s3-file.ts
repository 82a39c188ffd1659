import type { ArchiveFile } from '../archive/reader.js';

/** The least a ranged GET asks for: one request per small read (list's header peek) is a waste. */
const MIN_FETCH = 64 * 1024;
/** Read-ahead grows to this while reads are sequential (verify, restore). */
const MAX_FETCH = 8 << 20;
/** Sequential ranges after which the next one is fetched ahead. */
const SEQUENTIAL_RUN = 4;
/** Fetched ranges kept: the reader's few reads in flight plus the one ahead. */
const KEEP = 6;

interface Chunk {
  start: number;
  end: number;
  data: Promise<Buffer>;
}

/**
 * An archive in a bucket as the reader sees a file: reads become ranged GETs,
 * with read-ahead that doubles while reads follow each other (and one range
 * fetched ahead of the one in use), so a streamed verify makes few large,
 * overlapping requests and list a single small one.
 */
export class RangedObject implements ArchiveFile {
  private chunks: Chunk[] = [];
  private nextSequential = -1;
  private fetch = MIN_FETCH;
  /** Ranges fetched one right after the other so far. */
  private run = 0;

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
    let found = this.chunks.find((c) => c.start <= pos && pos < c.end);
    if (!found) {
      const sequential = pos === this.nextSequential;
      this.run = sequential ? this.run + 1 : 0;
      this.fetch = sequential ? Math.min(this.fetch * 2, MAX_FETCH) : MIN_FETCH;
      found = this.add(pos, Math.min(this.size, pos + Math.max(want, this.fetch)));
    }
    // Reading front to back for a while (verify, restore; not the few ranges of an archive's metadata):
    // the next range is always on its way while this one is used, so network and reader overlap.
    if (this.run >= SEQUENTIAL_RUN && found.end === this.nextSequential && found.end < this.size) {
      this.fetch = Math.min(this.fetch * 2, MAX_FETCH);
      this.add(found.end, Math.min(this.size, found.end + this.fetch));
    }
    return found;
  }

  private add(start: number, end: number): Chunk {
    this.nextSequential = end;
    const chunk: Chunk = { start, end, data: this.getRange(start, end - 1) };
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
