import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Codec, FrameScan } from './types.js';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

// Each member carries its own length in an FEXTRA subfield (the BGZF idea), so
// a reader can cut members apart without inflating them; gzip(1) ignores it.
const SUB_SIZE = Buffer.from('AK');
const SUB_LOCATOR = Buffer.from('AL');
const EMPTY_DEFLATE = Buffer.from([0x03, 0x00]);

function memberHeader(subfield: Buffer, data: Buffer): Buffer {
  const head = Buffer.alloc(12 + 4 + data.length);
  head.set([0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff]);
  head.writeUInt16LE(4 + data.length, 10);
  head.set(subfield, 12);
  head.writeUInt16LE(data.length, 14);
  head.set(data, 16);
  return head;
}

// Every member this format writes starts with one of these 16 bytes (FLG =
// FEXTRA only, MTIME 0, XFL 0, OS 255, one subfield); gzip(1) ignores most of
// them, so a reader that accepted others would leave those bytes unchecked.
const DATA_HEAD = memberHeader(SUB_SIZE, Buffer.alloc(4)).subarray(0, 16);
const LOCATOR_HEAD = memberHeader(SUB_LOCATOR, Buffer.alloc(40)).subarray(0, 16);
const LOCATOR_MEMBER = 16 + 40 + EMPTY_DEFLATE.length + 8;
/** Smallest data member: header, size field, an empty deflate block, CRC-32 and ISIZE. */
const MIN_DATA_MEMBER = 20 + EMPTY_DEFLATE.length + 8;

const startsLike = (buf: Buffer, head: Buffer) => {
  const n = Math.min(buf.length, head.length);
  return buf.subarray(0, n).equals(head.subarray(0, n));
};

export function scanGzipMember(buf: Buffer): FrameScan {
  if (startsLike(buf, DATA_HEAD)) {
    if (buf.length < 20) return { kind: 'incomplete' };
    const length = buf.readUInt32LE(16);
    if (length < MIN_DATA_MEMBER) return { kind: 'invalid', reason: 'gzip member size field too small' };
    if (buf.length < length) return { kind: 'incomplete' };
    // ISIZE (decoded length mod 2^32) is the last word; frames are far below 4 GiB.
    return { kind: 'data', length, maxOutput: buf.readUInt32LE(length - 4) };
  }
  if (startsLike(buf, LOCATOR_HEAD)) {
    return buf.length < LOCATOR_MEMBER ? { kind: 'incomplete' } : { kind: 'skippable', length: LOCATOR_MEMBER };
  }
  if (buf[0] !== 0x1f || (buf.length > 1 && buf[1] !== 0x8b)) return { kind: 'invalid', reason: 'not a gzip member' };
  return { kind: 'invalid', reason: 'gzip member header is not one this format writes' };
}

export const gzipCodec: Codec = {
  name: 'gzip',
  extension: '.gz',
  codecLevel: (userLevel) => userLevel,
  async compressFrame(chunk, level) {
    const plain = await gzip(chunk, { level: level ?? 6 });
    // Replace zlib's plain 10-byte header by one with the size subfield.
    const sizeField = Buffer.alloc(4);
    const head = memberHeader(SUB_SIZE, sizeField);
    head.writeUInt32LE(head.length + plain.length - 10, 16);
    return Buffer.concat([head, plain.subarray(10)]);
  },
  async decompressFrame(frame, maxOutput) {
    const scan = scanGzipMember(frame);
    if (scan.kind !== 'data' || scan.length !== frame.length) throw new Error('malformed gzip member');
    return gunzip(frame, { maxOutputLength: maxOutput });
  },
  scanFrame: scanGzipMember,
  wrapLocator(payload) {
    return Buffer.concat([memberHeader(SUB_LOCATOR, payload), EMPTY_DEFLATE, Buffer.alloc(8)]);
  },
  unwrapLocator(buf) {
    if (buf.length !== LOCATOR_MEMBER) return null;
    const payload = buf.subarray(16, 16 + 40);
    // The whole member is fixed but for the locator: its CRC-32 and ISIZE of nothing are zero.
    return buf.equals(gzipCodec.wrapLocator(payload)) ? payload : null;
  },
};
