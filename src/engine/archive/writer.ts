import { createHash, randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Codec } from '../codec/types.js';
import { ChunkCompressor } from '../codec/compressor.js';
import { encodeHeader, headerLength, type PublicHeader } from '../crypto/header.js';
import { deriveKek, MIN_PBKDF2_ITERATIONS } from '../crypto/kdf.js';
import { payloadKeyBytes, SegmentSealer } from '../crypto/segments.js';
import { AicoError, throwIfAborted } from '../errors.js';
import { AtomicFile } from '../fsutil/atomic-file.js';
import { maybeCrash } from '../fsutil/fault.js';
import { BlockSpool } from './block-spool.js';
import { changedRuns, storedSize } from './delta-blocks.js';
import { DeltaWriter } from './delta-writer.js';
import { ReadPool, type HashedRead } from './read-pool.js';
import {
  BLOCK_HASH_BYTES,
  BLOCKS_ENTRY,
  CHUNK_SIZE,
  DEFAULT_BLOCK_SIZE,
  DELTA_FORMAT_VERSION,
  MANIFEST_ENTRY,
  METADATA_ENTRY,
  SEGMENT_SIZE,
} from './layout.js';
import { encodeLocator } from './locator.js';
import type { Manifest, ManifestFile, Metadata, StoredAs } from './metadata.js';
import { TarOut, type ByteSink } from './tar-out.js';

export interface PlannedFile {
  source: string;
  absPath: string;
  archivePath: string;
  size: number;
  mode: number;
  mtime: Date;
}

/**
 * A file of a format 2 (delta) archive: compared block by block with the
 * parent's hashes of the same path and stored whole, as its changed blocks,
 * or not at all (docs/FORMAT.md §18). The manifest describes the file as it
 * is, whatever is stored.
 */
export interface DeltaFile extends PlannedFile {
  /** The parent's block hashes of this path; null when the parent has no such file (stored whole). */
  parentHashes: Buffer | null;
  /**
   * Whether changed blocks may be stored alone: only for files that cannot
   * change between the hash pass and the write (staged database copies).
   * Others (config, extras, read in place) are stored whole or not at all.
   */
  blockwise: boolean;
}

export type ArchiveEntry = PlannedFile | DeltaFile;

export const isDelta = (entry: ArchiveEntry): entry is DeltaFile => 'parentHashes' in entry;

export interface ArchiveEncryption {
  password: Buffer;
  /** Defaults to the OWASP minimum; lower values are for tests only. */
  iterations?: number;
}

export interface WriteArchiveOptions {
  path: string;
  codec: Codec;
  codecLevel: number | null;
  encryption: ArchiveEncryption | null;
  metadata: Metadata;
  /** Small entries placed right after metadata.json (e.g. encryption_key.enc). */
  extraEntries?: { name: string; data: Buffer }[];
  files: ArchiveEntry[];
  /** Format 2: paths of the parent's files this backup no longer has. */
  deleted?: string[];
  onProgress?: (bytesDone: number, source: string) => void;
  onFileChanged?: (file: PlannedFile, bytesOnDisk: number) => void;
  /** Runs once every byte is written, before the archive gets its name; throwing discards it. */
  beforeCommit?: () => Promise<void>;
  /**
   * After each append to the file being written (its bytes up to `end` are final; only the header before them is
   * rewritten). Writing waits for a promise it returns.
   */
  onAppended?: (file: { finalPath: string; partialPath: string }, end: number) => Promise<void> | undefined;
  signal?: AbortSignal;
}

export interface WriteArchiveResult {
  path: string;
  bytes: number;
  tarBytes: number;
  files: number;
  /** Bytes of file content stored in this archive (a delta stores only what changed). */
  storedBytes: number;
}

const concurrency = () => Math.max(2, availableParallelism()) + 1;

/** Writes one archive (docs/FORMAT.md) atomically; nothing appears under `path` unless it succeeds. */
export async function writeArchive(opts: WriteArchiveOptions): Promise<WriteArchiveResult> {
  if (opts.files.some(isDelta) !== (opts.metadata.backup_version === DELTA_FORMAT_VERSION)) {
    throw new AicoError('INTERNAL', 'Delta files go into format 2 archives, and only they.');
  }
  const out = await AtomicFile.create(opts.path);
  if (opts.onAppended) out.onAppend = (end) => opts.onAppended!(out, end);
  const spool = await BlockSpool.create(`${opts.path}.${process.pid}.blocks.partial`).catch(async (e) => {
    await out.abort();
    throw e;
  });
  const reader = new ReadPool();
  try {
    const result = await writeInto(out, spool, reader, opts);
    await opts.beforeCommit?.();
    await out.commit();
    return result;
  } catch (error) {
    await out.abort();
    throw error;
  } finally {
    await reader.close();
    await spool.remove();
  }
}

async function writeInto(out: AtomicFile, spool: BlockSpool, reader: ReadPool, opts: WriteArchiveOptions): Promise<WriteArchiveResult> {
  const { metadata, signal } = opts;
  let sink: ByteSink = out;
  let finishEncryption: (() => Promise<void>) | null = null;

  if (opts.encryption) {
    const iterations = opts.encryption.iterations ?? MIN_PBKDF2_ITERATIONS;
    const salt = randomBytes(16);
    const publicHeader: PublicHeader = {
      id: metadata.id,
      created: metadata.created,
      backup_type: metadata.backup_type,
      parent_id: metadata.parent_id,
      kdf: { name: 'pbkdf2-hmac-sha256', iterations, salt: salt.toString('base64') },
      cipher: 'aes-256-gcm-stream',
      segment_size: SEGMENT_SIZE,
    };
    const dataKey = randomBytes(32);
    const kek = await deriveKek(opts.encryption.password, { name: 'pbkdf2-hmac-sha256', iterations, salt });
    const key = payloadKeyBytes(dataKey);
    // Reserve the header; it is written last, once the payload length is known.
    await out.write(Buffer.alloc(headerLength(publicHeader)));
    const sealer = new SegmentSealer(key, SEGMENT_SIZE, (sealed) => out.write(sealed));
    sink = sealer;
    finishEncryption = async () => {
      const payloadLength = await sealer.end();
      try {
        await out.writeAt(encodeHeader(publicHeader, payloadLength, kek, dataKey, metadata.backup_version), 0);
      } finally {
        kek.fill(0);
        dataKey.fill(0);
        key.fill(0);
      }
    };
  }

  const compressor = new ChunkCompressor(opts.codec, opts.codecLevel, CHUNK_SIZE, concurrency(), sink);
  const body = new TarOut(compressor, true, (chunk) => reader.release(chunk));
  const manifestFiles: ManifestFile[] = [];
  let bytesDone = 0;
  let deltas: DeltaWriter | null = null;
  try {
    const metadataJson = Buffer.from(`${JSON.stringify(metadata, null, 2)}\n`);
    const now = new Date(metadata.created);
    await body.addBuffer({ name: METADATA_ENTRY, size: metadataJson.length, mode: 0o600, mtime: now }, metadataJson);
    for (const extra of opts.extraEntries ?? []) {
      await body.addBuffer({ name: extra.name, size: extra.data.length, mode: 0o600, mtime: now }, extra.data);
    }
    /** One file into the tar and the manifest; `counted`: its bytes are progress. */
    const addFile = async (file: PlannedFile, counted: boolean, extra: Partial<ManifestFile> = {}) => {
      const firstBlock = spool.count;
      const read: Partial<HashedRead> = {};
      const chunks = reader.read(file.absPath, file.size, DEFAULT_BLOCK_SIZE, (h) => spool.add(h), read, signal);
      await body.addStream(
        { name: file.archivePath, size: file.size, mode: file.mode & 0o7777, mtime: file.mtime },
        (async function* () {
          for await (const chunk of chunks) {
            if (counted) {
              bytesDone += chunk.length;
              opts.onProgress?.(bytesDone, file.source);
            }
            yield chunk;
          }
        })(),
      );
      if (read.bytesOnDisk !== file.size) opts.onFileChanged?.(file, read.bytesOnDisk ?? 0);
      manifestFiles.push({
        path: file.archivePath,
        source: file.source,
        size: file.size,
        mode: file.mode & 0o7777,
        mtime: file.mtime.toISOString(),
        sha256: read.sha256!,
        block_size: DEFAULT_BLOCK_SIZE,
        blocks_offset: firstBlock,
        blocks_count: spool.count - firstBlock,
        ...extra,
      });
    };
    deltas = opts.files.some(isDelta) ? new DeltaWriter(body, opts.files.filter(isDelta), signal) : null;
    for (const entry of opts.files) {
      throwIfAborted(signal);
      if (!isDelta(entry)) {
        await addFile(entry, true);
        continue;
      }
      if (!entry.parentHashes) {
        await addFile(entry, true, { stored: 'whole' });
        continue;
      }
      const hashed = await deltas!.hash(entry);
      const runs = changedRuns(hashed.hashes, entry.parentHashes);
      const describe = (stored: StoredAs, changed?: [number, number][]): ManifestFile => ({
        path: entry.archivePath,
        source: entry.source,
        size: entry.size,
        mode: entry.mode & 0o7777,
        mtime: entry.mtime.toISOString(),
        sha256: hashed.sha256,
        block_size: DEFAULT_BLOCK_SIZE,
        blocks_offset: spool.count,
        blocks_count: hashed.hashes.length / BLOCK_HASH_BYTES,
        stored,
        ...(changed ? { changed } : {}),
      });
      const sameLength = hashed.hashes.length === entry.parentHashes.length;
      if (!hashed.steady) {
        // It changed size while it was hashed: stored as it is now, with the usual FILE_CHANGED warning.
        await addFile(entry, false, { stored: 'whole' });
      } else if (runs.length === 0 && sameLength) {
        manifestFiles.push(describe('parent'));
        await spool.add(hashed.hashes);
      } else if (entry.blockwise && !(runs.length === 1 && runs[0]![1] === hashed.hashes.length / BLOCK_HASH_BYTES)) {
        const file = describe('blocks', runs);
        await deltas!.writeBlocks(entry, file, hashed.hashes);
        maybeCrash('delta-blocks');
        manifestFiles.push(file);
        await spool.add(hashed.hashes);
      } else {
        // Read again as it is now: a file read in place may have changed since it was hashed.
        await addFile(entry, false, { stored: 'whole' });
      }
      bytesDone += entry.size;
      opts.onProgress?.(bytesDone, entry.source);
    }
    await body.finish();
  } catch (error) {
    body.destroy(error as Error);
    throw error;
  } finally {
    await deltas?.close();
  }

  // The tail starts a new frame so readers can seek to it (see locator.ts).
  await compressor.cut();
  const tailOffset = await compressor.settledOutputOffset();
  const tailTarOffset = compressor.inputOffset;
  const manifest: Manifest = {
    format: metadata.backup_version,
    block_hash: 'sha256',
    metadata_sha256: createHash('sha256').update(`${JSON.stringify(metadata, null, 2)}\n`).digest('hex'),
    files: manifestFiles,
    ...(opts.deleted ? { deleted: opts.deleted } : {}),
  };
  const tail = new TarOut(compressor, false);
  try {
    const manifestJson = Buffer.from(`${JSON.stringify(manifest)}\n`);
    const mtime = new Date(metadata.created);
    await tail.addBuffer({ name: MANIFEST_ENTRY, size: manifestJson.length, mode: 0o600, mtime }, manifestJson);
    await tail.addStream({ name: BLOCKS_ENTRY, size: spool.count * BLOCK_HASH_BYTES, mode: 0o600, mtime }, spool.read());
    await tail.finish();
  } catch (error) {
    tail.destroy(error as Error);
    throw error;
  }
  const tarLength = compressor.inputOffset;
  await compressor.end();
  await compressor.writeRaw(
    opts.codec.wrapLocator(encodeLocator({ tailOffset, tailTarOffset, tarLength, chunkSize: CHUNK_SIZE })),
  );
  throwIfAborted(signal);
  await finishEncryption?.();
  const storedBytes = manifestFiles.reduce((sum, f) => sum + storedSize(f), 0);
  return { path: opts.path, bytes: out.bytesWritten, tarBytes: tarLength, files: manifestFiles.length, storedBytes };
}
