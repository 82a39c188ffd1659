import { createHash } from 'node:crypto';
import { AicoError } from '../errors.js';
import { parseManifest, readEntryBuffer } from './inspect.js';
import { BLOCK_HASH_BYTES, BLOCKS_ENTRY, MANIFEST_ENTRY } from './layout.js';
import type { Manifest, ManifestFile } from './metadata.js';
import { ArchiveReader, type PasswordProvider } from './reader.js';
import { parseTar } from './tar-in.js';

/**
 * Refused before it is read: 32 bytes per 4 KiB block is 1 GiB of hashes for
 * 128 GiB of files, and the entry is held in memory. A tail of compressed
 * zeros could otherwise claim any size the manifest backs.
 */
const MAX_BLOCKS_ENTRY = 1 << 30;

export interface FileBlocks {
  file: ManifestFile;
  /** The SHA-256 of each consecutive `file.block_size` block of the file, 32 bytes each, back to back (none for an empty file). */
  hashes: Buffer;
}

export interface BlockIndex {
  manifest: Manifest;
  /** SHA-256 (hex) of the manifest.json entry and of the manifest.blocks entry: what a delta's parent link records. */
  manifestSha256: string;
  blocksSha256: string;
  /** The manifest.json entry's exact bytes (a walk of the archive is held to them). */
  manifestRaw: Buffer;
  /** Every manifest file by its path. */
  files: Map<string, FileBlocks>;
}

const corrupt = (why: string) => new AicoError('CORRUPT_ARCHIVE', why, { hint: 'Use another copy of this backup.' });

/**
 * A backup's per-file block hashes (manifest.blocks, docs/FORMAT.md §7),
 * what an incremental backup compares a home with, read as §10 reads the
 * manifest: through the locator, decoding only the tail, so the payload is
 * never read. Nothing here is checked against file content (that takes
 * verify's full read); the entry's layout is: exactly each file's run, back
 * to back, and nothing else.
 */
export async function readBlockIndex(reader: ArchiveReader, signal?: AbortSignal): Promise<BlockIndex> {
  const loc = await reader.locator();
  let manifest = null as Manifest | null;
  let manifestSha256 = '';
  let manifestRaw: Buffer = Buffer.alloc(0);
  let blocks = null as Buffer | null;
  await parseTar(reader.tar(loc.tailOffset, reader.payloadLength - reader.locatorFrameLength, signal), async (entry) => {
    const name = entry.header.name;
    if (!manifest) {
      if (name !== MANIFEST_ENTRY) throw corrupt(`The archive tail does not start with ${MANIFEST_ENTRY}.`);
      const raw = await readEntryBuffer(entry);
      manifestRaw = raw;
      manifestSha256 = createHash('sha256').update(raw).digest('hex');
      manifest = parseManifest(raw);
      return;
    }
    if (name !== BLOCKS_ENTRY) throw corrupt(`${BLOCKS_ENTRY} does not follow ${MANIFEST_ENTRY} (found "${name}").`);
    const declared = manifest.files.reduce((sum, f) => sum + f.blocks_count, 0) * BLOCK_HASH_BYTES;
    if ((entry.header.size ?? 0) !== declared) {
      throw corrupt(`${BLOCKS_ENTRY} holds ${entry.header.size} bytes; the manifest accounts for ${declared}.`);
    }
    blocks = await readEntryBuffer(entry, MAX_BLOCKS_ENTRY);
    return false;
  });
  if (!manifest) throw corrupt(`The archive has no ${MANIFEST_ENTRY}.`);
  if (!blocks) throw corrupt(`The archive has no ${BLOCKS_ENTRY}.`);
  const blocksSha256 = createHash('sha256').update(blocks).digest('hex');
  return { manifest, manifestSha256, blocksSha256, manifestRaw, files: runsOf(manifest, blocks) };
}

/** Each file's run of hashes, which must start where the previous one ends (the entry's size was checked to be their sum). */
function runsOf(manifest: Manifest, blocks: Buffer): Map<string, FileBlocks> {
  const files = new Map<string, FileBlocks>();
  let next = 0;
  for (const file of [...manifest.files].sort((a, b) => a.blocks_offset - b.blocks_offset)) {
    if (file.blocks_offset !== next) {
      throw corrupt(`${BLOCKS_ENTRY}: the hashes of ${file.path} start at ${file.blocks_offset}, but the runs before it end at ${next}.`);
    }
    if (files.has(file.path)) throw corrupt(`The manifest lists "${file.path}" twice.`);
    next = file.blocks_offset + file.blocks_count;
    files.set(file.path, { file, hashes: blocks.subarray(file.blocks_offset * BLOCK_HASH_BYTES, next * BLOCK_HASH_BYTES) });
  }
  return files;
}

/** readBlockIndex on the archive at `path`, which is open only while it is read. */
export async function readBlockIndexOf(path: string, password: PasswordProvider | null, signal?: AbortSignal): Promise<BlockIndex> {
  const reader = await ArchiveReader.open(path, password, signal);
  try {
    return await readBlockIndex(reader, signal);
  } finally {
    await reader.close();
  }
}
