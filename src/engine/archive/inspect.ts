import { AicoError } from '../errors.js';
import { badRuns } from './delta-blocks.js';
import { MANIFEST_ENTRY, MAX_FORMAT_VERSION, METADATA_ENTRY } from './layout.js';
import type { Manifest, Metadata } from './metadata.js';
import type { ArchiveReader } from './reader.js';
import { parseTar, type TarEntry } from './tar-in.js';

const MAX_JSON_ENTRY = 256 << 20;

export async function readEntryBuffer(entry: TarEntry, limit = MAX_JSON_ENTRY): Promise<Buffer> {
  const size = entry.header.size ?? 0;
  if (size > limit) throw new AicoError('CORRUPT_ARCHIVE', `${entry.header.name} is implausibly large (${size} bytes).`);
  const parts: Buffer[] = [];
  for await (const part of entry.stream) parts.push(part);
  return Buffer.concat(parts);
}

function parseJson<T>(buf: Buffer, what: string): T {
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch {
    throw new AicoError('CORRUPT_ARCHIVE', `${what} in the archive is not valid JSON.`, { hint: 'Use another copy of this backup.' });
  }
}

/** Reads metadata.json, the first entry; only the first frame(s) are decoded. */
export async function readMetadata(reader: ArchiveReader): Promise<{ metadata: Metadata; raw: Buffer }> {
  let raw: Buffer | null = null;
  await parseTar(reader.tar(0, reader.payloadLength - reader.locatorFrameLength), async (entry) => {
    if (entry.header.name !== METADATA_ENTRY) {
      throw new AicoError('CORRUPT_ARCHIVE', `The archive does not start with ${METADATA_ENTRY} (found "${entry.header.name}").`);
    }
    raw = await readEntryBuffer(entry, 16 << 20);
    return false;
  });
  if (!raw) throw new AicoError('CORRUPT_ARCHIVE', `The archive has no ${METADATA_ENTRY}.`);
  return { metadata: parseJson<Metadata>(raw, METADATA_ENTRY), raw };
}

/**
 * metadata.backup_version, if this tool can read that format. Version 0 or a
 * non-integer was never written, so it is damage rather than an old format.
 */
export function formatVersionOf(metadata: Metadata): number {
  const version = metadata.backup_version;
  if (Number.isInteger(version) && version > MAX_FORMAT_VERSION) {
    throw new AicoError('UNSUPPORTED_FORMAT', `This archive is format ${version}; this aico-backup reads up to ${MAX_FORMAT_VERSION}.`, {
      hint: 'Install a newer aico-backup to read it.',
    });
  }
  if (!Number.isInteger(version) || version < 1) {
    throw new AicoError('CORRUPT_ARCHIVE', `${METADATA_ENTRY} has an invalid backup_version (${JSON.stringify(version)}).`, {
      hint: 'Use another copy of this backup.',
    });
  }
  return version;
}

/** manifest.json, parsed, with the exact bytes it was parsed from. */
export interface ReadManifest {
  manifest: Manifest;
  raw: Buffer;
}

/** Reads manifest.json through the locator, without decoding the archive body. */
export async function readManifest(reader: ArchiveReader): Promise<ReadManifest> {
  const loc = await reader.locator();
  let raw: Buffer | null = null;
  await parseTar(reader.tar(loc.tailOffset, reader.payloadLength - reader.locatorFrameLength), async (entry) => {
    if (entry.header.name !== MANIFEST_ENTRY) {
      throw new AicoError('CORRUPT_ARCHIVE', `The archive tail does not start with ${MANIFEST_ENTRY}.`);
    }
    raw = await readEntryBuffer(entry);
    return false;
  });
  if (!raw) throw new AicoError('CORRUPT_ARCHIVE', `The archive has no ${MANIFEST_ENTRY}.`);
  return { manifest: parseManifest(raw), raw };
}

/** manifest.json's bytes as a manifest whose every field a reader relies on has been checked. */
export function parseManifest(raw: Buffer): Manifest {
  const manifest = parseJson<Manifest>(raw, MANIFEST_ENTRY);
  checkManifestShape(manifest);
  return manifest;
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/**
 * The manifest drives restore (what to write, how much space it needs), so a
 * forged one must not be able to crash a reader or dodge the space check with
 * negative or non-numeric sizes: every field a reader relies on is checked.
 */
function checkManifestShape(manifest: Manifest): void {
  const bad = (why: string) => new AicoError('CORRUPT_ARCHIVE', `${MANIFEST_ENTRY} is malformed: ${why}.`, { hint: 'Use another copy of this backup.' });
  if (!manifest || typeof manifest !== 'object' || Array.isArray(manifest)) throw bad('not a JSON object');
  if (!Array.isArray(manifest.files)) throw bad('no file list');
  for (const [i, f] of manifest.files.entries()) {
    if (!f || typeof f !== 'object') throw bad(`file ${i} is not an object`);
    if (typeof f.path !== 'string' || f.path.length === 0) throw bad(`file ${i} has no path`);
    for (const key of ['size', 'blocks_offset', 'blocks_count', 'block_size', 'mode'] as const) {
      if (!isCount(f[key])) throw bad(`${f.path}: "${key}" is not a non-negative integer`);
    }
    if (f.block_size === 0 || f.blocks_count !== Math.ceil(f.size / f.block_size)) throw bad(`${f.path}: block count does not fit its size`);
    if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) throw bad(`${f.path}: "sha256" is not a SHA-256`);
    if (f.stored !== undefined && !(['whole', 'blocks', 'parent'] as unknown[]).includes(f.stored)) throw bad(`${f.path}: "stored" is ${JSON.stringify(f.stored)}`);
    if (f.stored === 'blocks') {
      const why = badRuns(f);
      if (why) throw bad(`${f.path}: ${why}`);
    } else if (f.changed !== undefined) throw bad(`${f.path}: changed blocks listed for a file not stored as blocks`);
  }
  if (manifest.deleted !== undefined && !(Array.isArray(manifest.deleted) && manifest.deleted.every((p) => typeof p === 'string'))) throw bad('"deleted" is not a list of paths');
}
