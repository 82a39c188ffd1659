/**
 * zstd and LZ4 share the "skippable frame" layout: a magic in 0x184D2A50..5F,
 * a little-endian u32 length, then that many bytes that decoders ignore.
 */
import type { FrameScan } from './types.js';

export const SKIPPABLE_MAGIC = 0x184d2a5a;

export function isSkippableMagic(magic: number): boolean {
  return (magic & 0xfffffff0) === 0x184d2a50;
}

export function scanSkippable(buf: Buffer): FrameScan {
  if (buf.length < 8) return { kind: 'incomplete' };
  const length = 8 + buf.readUInt32LE(4);
  return buf.length < length ? { kind: 'incomplete' } : { kind: 'skippable', length };
}

export function wrapSkippable(payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(SKIPPABLE_MAGIC, 0);
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

export function unwrapSkippable(buf: Buffer): Buffer | null {
  if (buf.length < 8 || buf.readUInt32LE(0) !== SKIPPABLE_MAGIC) return null;
  const length = buf.readUInt32LE(4);
  return buf.length === 8 + length ? buf.subarray(8) : null;
}
