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

/** Returns the extra field's subfields of a member starting at buf[0], or a scan result. */
function readExtra(buf: Buffer): { xlen: number; fields: Map<string, Buffer> } | FrameScan {
  if (buf.length < 12) return { kind: 'incomplete' };
  if (buf[0] !== 0x1f || buf[1] !== 0x8b || buf[2] !== 0x08) return { kind: 'invalid', reason: 'not a gzip member' };
  if (!(buf[3]! & 0x04)) return { kind: 'invalid', reason: 'gzip member without the archive size field' };
  const xlen = buf.readUInt16LE(10);
  if (buf.length < 12 + xlen) return { kind: 'incomplete' };
  const fields = new Map<string, Buffer>();
  for (let pos = 12; pos + 4 <= 12 + xlen; ) {
    const id = buf.toString('latin1', pos, pos + 2);
    const len = buf.readUInt16LE(pos + 2);
    fields.set(id, buf.subarray(pos + 4, pos + 4 + len));
    pos += 4 + len;
  }
  return { xlen, fields };
}

export function scanGzipMember(buf: Buffer): FrameScan {
  const extra = readExtra(buf);
  if ('kind' in extra) return extra;
  const size = extra.fields.get('AK');
  if (size && size.length === 4) {
    const length = size.readUInt32LE(0);
    if (length < 12 + extra.xlen + 8) return { kind: 'invalid', reason: 'gzip member size field too small' };
    if (buf.length < length) return { kind: 'incomplete' };
    // ISIZE (decoded length mod 2^32) is the last word; frames are far below 4 GiB.
    return { kind: 'data', length, maxOutput: buf.readUInt32LE(length - 4) };
  }
  if (extra.fields.has('AL')) {
    const length = 12 + extra.xlen + EMPTY_DEFLATE.length + 8;
    return buf.length < length ? { kind: 'incomplete' } : { kind: 'skippable', length };
  }
  return { kind: 'invalid', reason: 'gzip member without the archive size field' };
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
    const extra = readExtra(buf);
    if ('kind' in extra) return null;
    const payload = extra.fields.get('AL');
    return payload && buf.length === 12 + extra.xlen + EMPTY_DEFLATE.length + 8 ? payload : null;
  },
};
