import { hash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { AicoError, fromFsError, throwIfAborted } from '../errors.js';
import { runBytes, storedSize } from './delta-blocks.js';
import { BLOCK_HASH_BYTES, DEFAULT_BLOCK_SIZE, DELTA_PREFIX } from './layout.js';
import type { ManifestFile } from './metadata.js';
import { FileHasher, type FileHashes } from './file-hasher.js';
import type { TarOut } from './tar-out.js';
import type { DeltaFile } from './writer.js';

/** Changed blocks are read this many at a time (1 MiB). */
const READ_BLOCKS = 256;

export interface HashedFile {
  /** The SHA-256 of each 4 KiB block, back to back. */
  hashes: Buffer;
  sha256: string;
  /** False when the file was not its planned size while it was read. */
  steady: boolean;
}

/**
 * The two passes of a file in a delta archive: hash it all (to find the
 * blocks that differ from the parent's), then store only those blocks,
 * read again by offset. A tar header needs the entry's size first, and the
 * changed blocks are only known once the whole file was hashed.
 */
export class DeltaWriter {
  private readonly hasher = new FileHasher();
  private readonly hashing = new Map<DeltaFile, Promise<FileHashes>>();

  /** Starts hashing every file that has a parent to compare with, on all cores, ahead of the writer. */
  constructor(
    private readonly body: TarOut,
    files: readonly DeltaFile[],
    private readonly signal?: AbortSignal,
  ) {
    for (const file of files) {
      if (!file.parentHashes) continue;
      const hashed = this.hasher.hash(file.absPath, file.size, DEFAULT_BLOCK_SIZE);
      hashed.catch(() => {});
      this.hashing.set(file, hashed);
    }
  }

  async hash(file: DeltaFile): Promise<HashedFile> {
    throwIfAborted(this.signal);
    const hashed = await this.hashing.get(file)!;
    return { hashes: hashed.hashes, sha256: hashed.sha256, steady: hashed.bytesOnDisk === file.size };
  }

  async close(): Promise<void> {
    await this.hasher.close();
  }

  /**
   * Writes the entry blocks/<path>: the blocks `described.changed` names, in
   * order. Runs close together are read with one read of the span between
   * them (a day of HNSW or SQLite changes is thousands of short runs), and
   * each block is checked against the hash the first pass recorded, so the
   * entry can only hold what the manifest says.
   */
  async writeBlocks(file: DeltaFile, described: ManifestFile, hashes: Buffer): Promise<void> {
    const signal = this.signal;
    await this.body.addStream(
      { name: DELTA_PREFIX + file.archivePath, size: storedSize(described), mode: file.mode & 0o7777, mtime: file.mtime },
      (async function* () {
        let handle: fs.FileHandle;
        try {
          handle = await fs.open(file.absPath, 'r');
        } catch (error) {
          throw fromFsError(error, file.absPath);
        }
        try {
          let out: Buffer[] = [];
          let outBytes = 0;
          for (const span of readSpans(described.changed!)) {
            throwIfAborted(signal);
            const length = runBytes(described, span.first, span.end - span.first);
            const buf = Buffer.allocUnsafe(length);
            const { bytesRead } = await handle.read(buf, 0, length, span.first * DEFAULT_BLOCK_SIZE);
            for (const [first, count] of span.runs) {
              for (let i = first; i < first + count; i++) {
                const at = (i - span.first) * DEFAULT_BLOCK_SIZE;
                const block = buf.subarray(at, Math.min(bytesRead, at + DEFAULT_BLOCK_SIZE, length));
                if (!hash('sha256', block, 'buffer').equals(hashes.subarray(i * BLOCK_HASH_BYTES, (i + 1) * BLOCK_HASH_BYTES))) {
                  throw new AicoError('IO_ERROR', `${file.absPath} changed between the two reads of this backup (block ${i}).`, { hint: 'Run the backup again.' });
                }
                out.push(block);
                outBytes += block.length;
              }
            }
            if (outBytes >= OUT_BYTES) {
              yield out.length === 1 ? out[0]! : Buffer.concat(out);
              out = [];
              outBytes = 0;
            }
          }
          if (outBytes > 0) yield Buffer.concat(out);
        } catch (error) {
          throw error instanceof AicoError ? error : fromFsError(error, file.absPath);
        } finally {
          await handle.close();
        }
      })(),
    );
  }
}

/** Bytes handed to the tar stream at a time. */
const OUT_BYTES = 1 << 20;

/**
 * Runs grouped into spans read at once: a span ends where the next run would
 * take it past READ_BLOCKS blocks, so the gaps read in vain stay small.
 */
function* readSpans(runs: [number, number][]): Generator<{ first: number; end: number; runs: [number, number][] }> {
  let span: { first: number; end: number; runs: [number, number][] } | null = null;
  for (const [first, count] of runs) {
    // A long run is cut into pieces of READ_BLOCKS.
    for (let at = first; at < first + count; at += READ_BLOCKS) {
      const n = Math.min(READ_BLOCKS, first + count - at);
      if (span && at + n - span.first <= READ_BLOCKS) {
        span.runs.push([at, n]);
        span.end = at + n;
        continue;
      }
      if (span) yield span;
      span = { first: at, end: at + n, runs: [[at, n]] };
    }
  }
  if (span) yield span;
}
