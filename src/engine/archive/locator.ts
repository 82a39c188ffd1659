import zlib from 'node:zlib';

/**
 * The locator is the last thing in the compressed stream, wrapped by the codec
 * so that its CLI skips it. It says where the tail (manifest.json and
 * manifest.blocks) starts, so a reader gets the manifest without reading the
 * whole payload. Layout, big-endian:
 *   0  8  magic "AICOLOC1"
 *   8  8  tail offset in the compressed stream (a frame boundary)
 *   16 8  tail offset in the tar stream (a tar header)
 *   24 8  length of the tar stream
 *   32 4  largest number of tar bytes in one frame
 *   36 4  CRC-32 of bytes 0..35
 */
export const LOCATOR_MAGIC = Buffer.from('AICOLOC1');
export const LOCATOR_BYTES = 40;

export interface Locator {
  tailOffset: number;
  tailTarOffset: number;
  tarLength: number;
  chunkSize: number;
}

export function encodeLocator(loc: Locator): Buffer {
  const out = Buffer.alloc(LOCATOR_BYTES);
  LOCATOR_MAGIC.copy(out, 0);
  out.writeBigUInt64BE(BigInt(loc.tailOffset), 8);
  out.writeBigUInt64BE(BigInt(loc.tailTarOffset), 16);
  out.writeBigUInt64BE(BigInt(loc.tarLength), 24);
  out.writeUInt32BE(loc.chunkSize, 32);
  out.writeUInt32BE(zlib.crc32(out.subarray(0, 36)), 36);
  return out;
}

export function decodeLocator(buf: Buffer | null): Locator | null {
  if (!buf || buf.length !== LOCATOR_BYTES || !buf.subarray(0, 8).equals(LOCATOR_MAGIC)) return null;
  if (zlib.crc32(buf.subarray(0, 36)) !== buf.readUInt32BE(36)) return null;
  return {
    tailOffset: Number(buf.readBigUInt64BE(8)),
    tailTarOffset: Number(buf.readBigUInt64BE(16)),
    tarLength: Number(buf.readBigUInt64BE(24)),
    chunkSize: buf.readUInt32BE(32),
  };
}
