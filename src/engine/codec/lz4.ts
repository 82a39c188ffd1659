import { createRequire } from 'node:module';
import type { Codec, FrameScan } from './types.js';
import { isSkippableMagic, scanSkippable, unwrapSkippable, wrapSkippable } from './skippable.js';

// Loaded on first use, so commands that never compress start faster.
const require = createRequire(import.meta.url);
let loaded: typeof import('lz4-napi') | undefined;
const lz4 = () => (loaded ??= require('lz4-napi') as typeof import('lz4-napi'));

const LZ4_MAGIC = 0x184d2204;
const BLOCK_MAX = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20];

/**
 * Walks an LZ4 frame (lz4 Frame Format 1.6.x) to its end mark. lz4-napi's
 * decoder silently stops after the first frame of a concatenation, so the
 * archive keeps frame boundaries itself and decodes one at a time.
 */
export function scanLz4Frame(buf: Buffer): FrameScan {
  if (buf.length < 4) return { kind: 'incomplete' };
  const magic = buf.readUInt32LE(0);
  if (isSkippableMagic(magic)) return scanSkippable(buf);
  if (magic !== LZ4_MAGIC) return { kind: 'invalid', reason: 'not an LZ4 frame' };
  if (buf.length < 6) return { kind: 'incomplete' };
  const flg = buf[4]!;
  const bd = buf[5]!;
  if (flg >> 6 !== 1) return { kind: 'invalid', reason: 'unsupported LZ4 frame version' };
  const blockChecksum = (flg >> 4) & 1;
  const contentSize = (flg >> 3) & 1;
  const contentChecksum = (flg >> 2) & 1;
  const dictId = flg & 1;
  const blockMax = BLOCK_MAX[(bd >> 4) & 7] ?? 0;
  if (!blockMax) return { kind: 'invalid', reason: 'invalid LZ4 block size' };
  let pos = 6 + (contentSize ? 8 : 0) + (dictId ? 4 : 0) + 1;
  let bound = 0;
  for (;;) {
    if (buf.length < pos + 4) return { kind: 'incomplete' };
    const word = buf.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (size > blockMax) return { kind: 'invalid', reason: 'LZ4 block larger than its frame allows' };
    pos += size + (blockChecksum ? 4 : 0);
    bound += blockMax;
  }
  pos += contentChecksum ? 4 : 0;
  if (buf.length < pos) return { kind: 'incomplete' };
  return { kind: 'data', length: pos, maxOutput: bound };
}

export const lz4Codec: Codec = {
  name: 'lz4',
  extension: '.lz4',
  // lz4-napi (lz4_flex) has a single speed; the CLI warns when a level is asked for.
  codecLevel: () => null,
  compressFrame: (chunk) => lz4().compressFrame(chunk, { contentChecksum: true }),
  async decompressFrame(frame, maxOutput) {
    const scan = scanLz4Frame(frame);
    if (scan.kind !== 'data' || scan.length !== frame.length) throw new Error('malformed LZ4 frame');
    if (scan.maxOutput > maxOutput) throw new Error(`LZ4 frame would decode to more than ${maxOutput} bytes`);
    return lz4().decompressFrame(frame);
  },
  scanFrame: scanLz4Frame,
  wrapLocator: wrapSkippable,
  unwrapLocator: unwrapSkippable,
};
