import { createCipheriv, hkdfSync, webcrypto } from 'node:crypto';
import { AicoError } from '../errors.js';

/**
 * Chunked AEAD for the payload (the STREAM construction of Hoang, Reyhanitabar,
 * Rogaway and Vizár, as used by age and Tink): segment i is sealed with
 * AES-256-GCM, nonce = 11-byte big-endian i || last-flag byte. Reordering,
 * dropping or truncating segments fails authentication. The last segment's
 * AAD is the payload length, which binds the (unauthenticated) length field
 * of the header. The writer seals on the main thread with node:crypto
 * (fast, no extra copies, one reused input buffer); the reader opens with
 * WebCrypto, which runs on the libuv pool in parallel with decompression.
 */
export const TAG_BYTES = 16;
const INFO = Buffer.from('aico-backup v1 payload');
const subtle = webcrypto.subtle;

/** The payload's AES-256 key (HKDF-SHA256 of the data key); the caller zeroes it. */
export function payloadKeyBytes(dataKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), INFO, 32));
}

export async function payloadKey(dataKey: Buffer): Promise<webcrypto.CryptoKey> {
  const raw = payloadKeyBytes(dataKey);
  try {
    return await subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  } finally {
    raw.fill(0);
  }
}

export function segmentNonce(index: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64BE(BigInt(index), 3);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

function lengthAad(payloadLength: number): Buffer {
  const aad = Buffer.alloc(8);
  aad.writeBigUInt64BE(BigInt(payloadLength));
  return aad;
}

/** Seals one segment synchronously; returns ciphertext and tag as two buffers to avoid a copy. */
export function sealSegment(key: Buffer, index: number, plain: Buffer, lastOfLength: number | null): [Buffer, Buffer] {
  const cipher = createCipheriv('aes-256-gcm', key, segmentNonce(index, lastOfLength !== null), { authTagLength: TAG_BYTES });
  if (lastOfLength !== null) cipher.setAAD(lengthAad(lastOfLength));
  const sealed = cipher.update(plain);
  cipher.final();
  return [sealed, cipher.getAuthTag()];
}

export async function openSegment(key: webcrypto.CryptoKey, index: number, sealed: Buffer, lastOfLength: number | null): Promise<Buffer> {
  const params: webcrypto.AesGcmParams = { name: 'AES-GCM', iv: segmentNonce(index, lastOfLength !== null), tagLength: 128 };
  if (lastOfLength !== null) params.additionalData = lengthAad(lastOfLength);
  try {
    return Buffer.from(await subtle.decrypt(params, key, sealed));
  } catch {
    throw new AicoError('CORRUPT_ARCHIVE', `Encrypted segment ${index} failed authentication: the archive was modified or damaged.`, {
      hint: 'Nothing from this segment on was used. Use another copy of this backup.',
      details: { segment: index },
    });
  }
}

/** Layout arithmetic shared by writer and reader. */
export function segmentCount(payloadLength: number, segmentSize: number): number {
  return Math.max(1, Math.ceil(payloadLength / segmentSize));
}

export function sealedLength(payloadLength: number, segmentSize: number): number {
  return payloadLength + segmentCount(payloadLength, segmentSize) * TAG_BYTES;
}

/**
 * Accepts the compressed stream and writes it sealed, segment by segment, in
 * order. A full segment is held back until more data arrives, because only
 * then is it known not to be the last.
 */
export class SegmentSealer {
  private current: Buffer;
  private spare: Buffer;
  private filled = 0;
  private index = 0;
  private total = 0;
  private heldFull = false;

  constructor(
    private readonly key: Buffer,
    private readonly segmentSize: number,
    private readonly writeOut: (data: Buffer) => Promise<void>,
  ) {
    this.current = Buffer.allocUnsafe(segmentSize);
    this.spare = Buffer.allocUnsafe(segmentSize);
  }

  async write(data: Buffer): Promise<void> {
    this.total += data.length;
    let pos = 0;
    while (pos < data.length) {
      if (this.heldFull) {
        // More data exists, so the held segment is not the last: seal it and reuse its buffer.
        await this.seal(this.spare, null);
        this.heldFull = false;
      }
      const n = Math.min(this.segmentSize - this.filled, data.length - pos);
      data.copy(this.current, this.filled, pos, pos + n);
      this.filled += n;
      pos += n;
      if (this.filled === this.segmentSize) {
        [this.spare, this.current] = [this.current, this.spare];
        this.heldFull = true;
        this.filled = 0;
      }
    }
  }

  /** Seals the last segment; returns the payload length. */
  async end(): Promise<number> {
    await this.seal(this.heldFull ? this.spare : this.current.subarray(0, this.filled), this.total);
    this.current.fill(0);
    this.spare.fill(0);
    return this.total;
  }

  private async seal(plain: Buffer, lastOfLength: number | null): Promise<void> {
    const [sealed, tag] = sealSegment(this.key, this.index++, plain, lastOfLength);
    await this.writeOut(sealed);
    await this.writeOut(tag);
  }
}
