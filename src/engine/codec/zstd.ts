import { createRequire } from 'node:module';
import type { Codec, FrameScan } from './types.js';
import { isSkippableMagic, scanSkippable, unwrapSkippable, wrapSkippable } from './skippable.js';

// The package's JS wrapper (index.js) takes no level argument, so every
// frame would get the binding's default level; its
// native binding honours it and runs on the libuv pool, so two frames in
// flight use both cores.
// Loaded on first use, so commands that never compress start faster.
const require = createRequire(import.meta.url);
let loaded: { compress(data: Buffer, level: number): Promise<Buffer>; decompress(data: Buffer): Promise<Buffer> } | undefined;
const binding = () => (loaded ??= require('@mongodb-js/zstd/bindings'));

const ZSTD_MAGIC = 0xfd2fb528;
const MAX_BLOCK = 128 * 1024;
/** User level 1..9 -> zstd level; 3 stays 3 (zstd's own default). */
const LEVELS = [1, 2, 3, 5, 7, 9, 12, 15, 19];

/**
 * Walks a zstd frame's header and block headers (RFC 8878 section 3.1.1) to
 * find where it ends and bound its decoded size without decoding it.
 */
export function scanZstdFrame(buf: Buffer): FrameScan {
  if (buf.length < 4) return { kind: 'incomplete' };
  const magic = buf.readUInt32LE(0);
  if (isSkippableMagic(magic)) return scanSkippable(buf);
  if (magic !== ZSTD_MAGIC) return { kind: 'invalid', reason: 'not a zstd frame' };
  if (buf.length < 5) return { kind: 'incomplete' };
  const fhd = buf[4]!;
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const checksum = (fhd >> 2) & 1;
  const dictFlag = fhd & 3;
  if ((fhd >> 3) & 1) return { kind: 'invalid', reason: 'reserved bit set in zstd frame header' };
  const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  const dictSize = [0, 1, 2, 4][dictFlag]!;
  let pos = 5 + (singleSegment ? 0 : 1) + dictSize;
  if (buf.length < pos + fcsSize) return { kind: 'incomplete' };
  let declared: number | null = null;
  if (fcsSize === 1) declared = buf[pos]!;
  else if (fcsSize === 2) declared = buf.readUInt16LE(pos) + 256;
  else if (fcsSize === 4) declared = buf.readUInt32LE(pos);
  else if (fcsSize === 8) declared = Number(buf.readBigUInt64LE(pos));
  pos += fcsSize;
  let bound = 0;
  for (;;) {
    if (buf.length < pos + 3) return { kind: 'incomplete' };
    const header = buf.readUIntLE(pos, 3);
    pos += 3;
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === 3) return { kind: 'invalid', reason: 'reserved zstd block type' };
    if (type === 0) { pos += size; bound += size; }
    else if (type === 1) { pos += 1; bound += size; }
    else { pos += size; bound += MAX_BLOCK; }
    if (last) break;
  }
  pos += checksum ? 4 : 0;
  if (buf.length < pos) return { kind: 'incomplete' };
  return { kind: 'data', length: pos, maxOutput: declared ?? bound };
}

export const zstdCodec: Codec = {
  name: 'zstd',
  extension: '.zst',
  codecLevel: (userLevel) => LEVELS[userLevel - 1] ?? 3,
  compressFrame: (chunk, level) => binding().compress(chunk, level ?? 3),
  async decompressFrame(frame, maxOutput) {
    const scan = scanZstdFrame(frame);
    if (scan.kind !== 'data' || scan.length !== frame.length) throw new Error('malformed zstd frame');
    if (scan.maxOutput > maxOutput) throw new Error(`zstd frame would decode to more than ${maxOutput} bytes`);
    const out = await binding().decompress(frame);
    if (out.length > maxOutput) throw new Error(`zstd frame decoded to more than ${maxOutput} bytes`);
    return out;
  },
  scanFrame: scanZstdFrame,
  wrapLocator: wrapSkippable,
  unwrapLocator: unwrapSkippable,
};
