import { createHash } from 'node:crypto';
import type { VerifyProblemCode } from '../codes.js';
import { AicoError } from '../errors.js';
import { noopSink, throttledProgress, type OperationContext } from '../events.js';
import { HashPool } from './hash-pool.js';
import { formatVersionOf, readEntryBuffer, readManifest, type ReadManifest } from './inspect.js';
import { BLOCK_HASH_BYTES, BLOCKS_ENTRY, KEY_ENTRY, MANIFEST_ENTRY, METADATA_ENTRY } from './layout.js';
import type { Manifest, ManifestFile, Metadata } from './metadata.js';
import type { ArchiveReader } from './reader.js';
import { entryNameOf, hashesOfRuns, storedAs, storedSize } from './delta-blocks.js';
import { checkTarLayout } from './tar-check.js';
import { parseTar } from './tar-in.js';

/** Receives a file's bytes as they are checked (restore writes them to staging). */
export interface FileSink {
  write(chunk: Buffer): Promise<void>;
  end(): Promise<void>;
}

export interface WalkHooks {
  /**
   * Called for each manifest file whose entry matches its declared size;
   * null skips it. The bytes are the stored ones: the whole file, or (format
   * 2, `stored` "blocks") its changed blocks back to back.
   */
  onFile?: (file: ManifestFile) => Promise<FileSink | null>;
  /** Called with encryption_key.enc when the archive holds one. */
  onKeyEntry?: (sealed: Buffer) => void;
  /** Called with metadata.json once read. */
  onMetadata?: (metadata: Metadata) => void;
  /** Called as soon as a problem is found (they are also returned at the end). */
  onProblem?: (problem: VerifyProblem) => void;
}

export interface WalkOptions extends WalkHooks {
  /**
   * The manifest the caller already read through the locator (restore plans
   * from it): the walk then holds the archive to that very manifest instead
   * of reading the tail again.
   */
  manifest?: ReadManifest;
}

/** A mismatch found while walking (docs/FORMAT.md §11): collected, not thrown. */
export interface VerifyProblem {
  code: VerifyProblemCode;
  message: string;
  path?: string;
}

export interface WalkResult {
  manifest: Manifest;
  metadata: Metadata | null;
  problems: VerifyProblem[];
}

const sha256 = (buf: Buffer) => createHash('sha256').update(buf).digest('hex');

/**
 * The verify procedure of docs/FORMAT.md §11 over an open archive: decodes
 * every frame, checks the tar layout byte for byte, every file against the
 * manifest (SHA-256 and block hashes), the metadata against its recorded
 * hash and the locator against the stream, and hands each file's checked
 * bytes to its sink. Damage that stops reading throws a coded error;
 * mismatches are collected. Emits the `read` phase and progress.
 */
export async function walkArchive(reader: ArchiveReader, opts: WalkOptions = {}, ctx: OperationContext = {}): Promise<WalkResult> {
  const emit = ctx.onEvent ?? noopSink;
  // Hashing is most of the walk's main-thread time; a worker does it while this thread decrypts and decompresses.
  const hashes = new HashPool();
  const problems: VerifyProblem[] = [];
  const problem = (code: VerifyProblemCode, message: string, path?: string) => {
    const found = { code, message, ...(path ? { path } : {}) };
    problems.push(found);
    opts.onProblem?.(found);
  };
  let metadata: Metadata | null = null;
  try {
    const loc = await reader.locator();
    const { manifest, raw: manifestRaw } = opts.manifest ?? (await readManifest(reader));
    // Entry name -> file: a file stored as changed blocks is in blocks/<path>; one unchanged since the parent has no entry.
    const byPath = new Map<string, ManifestFile>();
    for (const f of manifest.files) {
      const name = entryNameOf(f);
      if (name !== null) byPath.set(name, f);
    }
    if (metadataFormatOk(manifest) === false) problem('METADATA_MISMATCH', `manifest.json is format ${manifest.format}, which does not fit what it lists.`);
    const seen = new Set<string>();
    const runDigests = new Map<string, string>();
    let blocksSeen = false;
    const total = manifest.files.reduce((sum, f) => sum + storedSize(f), 0);
    const progress = throttledProgress(emit, total);
    let done = 0;
    let tarOffset = 0;
    // Without compression the stream is the tar itself and "frames" are just read sizes.
    const plainTar = reader.codec.name === 'none';
    let tailFrameSeen = plainTar && loc.tailOffset === loc.tailTarOffset;
    const onFrame = (offset: number, length: number) => {
      if (!plainTar && offset === loc.tailOffset) {
        tailFrameSeen = true;
        if (tarOffset !== loc.tailTarOffset) problem('LOCATOR_MISMATCH', 'The end marker points to the wrong place in the tar stream.');
      }
      tarOffset += length;
    };
    emit({ type: 'phase', phase: 'read', message: 'Reading and checking every file' });
    let index = 0;
    const tar = reader.tar(0, reader.payloadLength - reader.locatorFrameLength, ctx.signal, onFrame);
    await parseTar(checkTarLayout(tar), async (entry) => {
      const name = entry.header.name;
      const first = index++ === 0;
      if (first !== (name === METADATA_ENTRY)) {
        problem('LAYOUT', `${METADATA_ENTRY} must be the first entry (found "${name}" first).`);
      }
      if (entry.header.type !== 'file') {
        problem('UNEXPECTED_ENTRY', `Entry "${name}" is a ${entry.header.type}, not a regular file.`, name);
        return;
      }
      if (name === METADATA_ENTRY) {
        const raw = await readEntryBuffer(entry, 16 << 20);
        if (sha256(raw) !== manifest.metadata_sha256) problem('CHECKSUM_MISMATCH', `${METADATA_ENTRY} does not match its recorded hash.`, name);
        metadata = parseMetadata(raw);
        checkMetadata(metadata, reader, problem);
        if (metadata.backup_version !== manifest.format) problem('METADATA_MISMATCH', `metadata.json says format ${metadata.backup_version}, manifest.json ${manifest.format}.`);
        if (metadata) opts.onMetadata?.(metadata);
        return;
      }
      if (name === MANIFEST_ENTRY) {
        if (!(await readEntryBuffer(entry)).equals(manifestRaw)) problem('LAYOUT', 'Two different manifests in one archive.', name);
        return;
      }
      if (name === BLOCKS_ENTRY) {
        blocksSeen = true;
        await checkBlockRuns(entry.stream, manifest.files, runDigests, problem);
        return;
      }
      if (name === KEY_ENTRY) {
        const sealed = await readEntryBuffer(entry, 64 << 10);
        opts.onKeyEntry?.(sealed);
        return;
      }
      const file = byPath.get(name);
      if (!file) return void problem('UNEXPECTED_ENTRY', `Entry "${name}" is not in the manifest.`, name);
      if (seen.has(name)) return void problem('DUPLICATE_ENTRY', `Entry "${name}" appears twice.`, name);
      seen.add(name);
      const expected = storedSize(file);
      const sizeOk = (entry.header.size ?? 0) === expected;
      if (!sizeOk) problem('SIZE_MISMATCH', `${name}: ${entry.header.size} bytes in the archive, ${expected} in the manifest.`, name);
      // Never hand on the bytes of an entry whose size disagrees with the manifest (a bomb or a forgery).
      const sink = sizeOk && opts.onFile ? await opts.onFile(file) : null;
      // An entry whose header disagrees with the manifest is never gathered in memory (a bomb): the worker streams it.
      const hasher = hashes.begin(file.block_size, sizeOk ? expected : Infinity);
      for await (const chunk of entry.stream) {
        await hasher.update(chunk);
        if (sink) await sink.write(chunk);
        done += chunk.length;
        progress.update(done, file.source);
      }
      await sink?.end();
      const digests = await hasher.finish();
      // Changed blocks alone have no whole-file hash to match; their block hashes are checked below.
      if (storedAs(file) === 'whole' && digests.sha256 !== file.sha256) problem('CHECKSUM_MISMATCH', `${name} does not match its SHA-256 in the manifest.`, name);
      runDigests.set(file.path, digests.run);
    });
    progress.flush(done);
    for (const [name, f] of byPath) if (!seen.has(name)) problem('MISSING_ENTRY', `${name} is listed in the manifest but missing.`, f.path);
    if (!tailFrameSeen) problem('LOCATOR_MISMATCH', 'The end marker does not point at a frame boundary.');
    if (tarOffset !== loc.tarLength) problem('LOCATOR_MISMATCH', `The tar stream has ${tarOffset} bytes; the end marker says ${loc.tarLength}.`);
    if (!metadata) problem('LAYOUT', `The archive has no ${METADATA_ENTRY}.`);
    // Otherwise the block hashes recomputed above would be checked against nothing.
    if (!blocksSeen) problem('LAYOUT', `The archive has no ${BLOCKS_ENTRY}.`);
    return { manifest, metadata, problems };
  } finally {
    await hashes.close();
  }
}

/** Only format 2 stores files as changed blocks or in the parent; false when a manifest says otherwise. */
function metadataFormatOk(manifest: Manifest): boolean {
  const delta = manifest.files.some((f) => storedAs(f) !== 'whole');
  return !delta || manifest.format >= 2;
}

function parseMetadata(raw: Buffer): Metadata {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    value = null;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new AicoError('CORRUPT_ARCHIVE', `${METADATA_ENTRY} in the archive is not a JSON object.`, { hint: 'Use another copy of this backup.' });
  }
  return value as Metadata;
}

function checkMetadata(metadata: Metadata, reader: ArchiveReader, problem: (code: VerifyProblemCode, message: string) => void): void {
  formatVersionOf(metadata);
  const header = reader.header?.header;
  if (header && (header.id !== metadata.id || header.created !== metadata.created || header.backup_type !== metadata.backup_type)) {
    problem('METADATA_MISMATCH', 'The header and metadata.json describe different backups.');
  }
  if (reader.header && reader.header.version !== metadata.backup_version) {
    problem('METADATA_MISMATCH', `The header says format ${reader.header.version}, metadata.json ${metadata.backup_version}.`);
  }
  if (metadata.compression?.algorithm !== reader.codec.name) {
    problem('METADATA_MISMATCH', `metadata.json says ${metadata.compression?.algorithm}, the data is ${reader.codec.name}.`);
  }
}

/**
 * manifest.blocks holds each file's block hashes back to back, in manifest
 * order, and nothing else: a reader finds a file's run by its blocks_offset,
 * so a gap, an overlap or unaccounted hashes mean a bug or an edit made before
 * the archive was sealed.
 */
async function checkBlockRuns(
  stream: AsyncIterable<Buffer>,
  files: ManifestFile[],
  digests: Map<string, string>,
  problem: (code: VerifyProblemCode, message: string, path?: string) => void,
): Promise<void> {
  const ordered = [...files].sort((a, b) => a.blocks_offset - b.blocks_offset);
  let expectedOffset = 0;
  for (const f of ordered) {
    if (f.blocks_offset !== expectedOffset) {
      problem('BLOCK_HASH_MISMATCH', `${f.path}: blocks_offset is ${f.blocks_offset}, but the runs before it end at ${expectedOffset}.`, f.path);
    }
    expectedOffset = f.blocks_offset + f.blocks_count;
  }
  let fileIndex = 0;
  let extra = 0;
  let need = (ordered[0]?.blocks_count ?? 0) * BLOCK_HASH_BYTES;
  let run = createHash('sha256');
  // A file stored as changed blocks: its stored bytes hash to the subset of its run the changed blocks name.
  let held: Buffer[] = [];
  const close = () => {
    const f = ordered[fileIndex]!;
    const expected = digests.get(f.path);
    const actual = storedAs(f) === 'blocks' ? createHash('sha256').update(hashesOfRuns(Buffer.concat(held), f.changed ?? [])).digest('hex') : run.digest('hex');
    if (expected !== undefined && expected !== actual) problem('BLOCK_HASH_MISMATCH', `${f.path}: block hashes do not match its content.`, f.path);
    run = createHash('sha256');
    held = [];
    fileIndex++;
    need = (ordered[fileIndex]?.blocks_count ?? 0) * BLOCK_HASH_BYTES;
  };
  while (fileIndex < ordered.length && need === 0) close();
  for await (const chunk of stream) {
    let pos = 0;
    while (pos < chunk.length && fileIndex < ordered.length) {
      const n = Math.min(need, chunk.length - pos);
      if (storedAs(ordered[fileIndex]!) === 'blocks') held.push(Buffer.from(chunk.subarray(pos, pos + n)));
      else run.update(chunk.subarray(pos, pos + n));
      pos += n;
      need -= n;
      while (fileIndex < ordered.length && need === 0) close();
    }
    extra += chunk.length - pos;
  }
  if (fileIndex < ordered.length) problem('BLOCK_HASH_MISMATCH', `${BLOCKS_ENTRY} is shorter than the manifest says.`);
  if (extra > 0) problem('BLOCK_HASH_MISMATCH', `${BLOCKS_ENTRY} has ${extra} bytes that no file in the manifest accounts for.`);
}
