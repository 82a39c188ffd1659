import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { AicoError, fromFsError, throwIfAborted } from '../errors.js';
import { runBytes, storedSize } from './delta-blocks.js';
import { BLOCK_HASH_BYTES, DEFAULT_BLOCK_SIZE, DELTA_PREFIX } from './layout.js';
import type { ManifestFile } from './metadata.js';
import type { ReadPool } from './read-pool.js';
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
  constructor(
    private readonly body: TarOut,
    private readonly reader: ReadPool,
    private readonly signal?: AbortSignal,
  ) {}

  async hash(file: DeltaFile): Promise<HashedFile> {
    const parts: Buffer[] = [];
    const result: { sha256?: string; bytesOnDisk?: number } = {};
    const chunks = this.reader.read(file.absPath, file.size, DEFAULT_BLOCK_SIZE, async (h) => void parts.push(Buffer.from(h)), result, this.signal);
    for await (const chunk of chunks) this.reader.release(chunk);
    return { hashes: Buffer.concat(parts), sha256: result.sha256!, steady: result.bytesOnDisk === file.size };
  }

  /**
   * Writes the entry blocks/<path>: the blocks `described.changed` names, in
   * order. Each block is checked against the hash the first pass recorded, so
   * the entry can only hold what the manifest says.
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
          for (const [first, count] of described.changed!) {
            for (let at = first; at < first + count; at += READ_BLOCKS) {
              throwIfAborted(signal);
              const n = Math.min(READ_BLOCKS, first + count - at);
              const length = runBytes(described, at, n);
              const buf = Buffer.allocUnsafe(length);
              const { bytesRead } = await handle.read(buf, 0, length, at * DEFAULT_BLOCK_SIZE);
              for (let i = 0; i < n; i++) {
                const block = buf.subarray(i * DEFAULT_BLOCK_SIZE, Math.min(bytesRead, (i + 1) * DEFAULT_BLOCK_SIZE));
                const want = hashes.subarray((at + i) * BLOCK_HASH_BYTES, (at + i + 1) * BLOCK_HASH_BYTES);
                if (!createHash('sha256').update(block).digest().equals(want)) {
                  throw new AicoError('IO_ERROR', `${file.absPath} changed between the two reads of this backup (block ${at + i}).`, {
                    hint: 'Run the backup again.',
                  });
                }
              }
              yield buf;
            }
          }
        } catch (error) {
          throw error instanceof AicoError ? error : fromFsError(error, file.absPath);
        } finally {
          await handle.close();
        }
      })(),
    );
  }
}
