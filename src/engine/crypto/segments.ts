import { hkdfSync, webcrypto } from 'node:crypto';
import { AicoError } from '../errors.js';
import { OrderedPool } from '../codec/ordered-pool.js';

/**
 * Chunked AEAD for the payload (the STREAM construction of Hoang, Reyhanitabar,
 * Rogaway and Vizár, as used by age and Tink): segment i is sealed with
 * AES-256-GCM, nonce = 11-byte big-endian i || last-flag byte. Reordering,
 * dropping or truncating segments fails authentication. The last segment's
 * AAD is the payload length, which binds the (unauthenticated) length field
 * of the header. WebCrypto runs each seal on the libuv pool, so segments are
 * sealed and opened in parallel with compression.
 */
export const TAG_BYTES = 16;
const INFO = Buffer.from('aico-backup v1 payload');
const subtle = webcrypto.subtle;

export async function payloadKey(dataKey: Buffer): Promise<webcrypto.CryptoKey> {
  const raw = Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), INFO, 32));
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

export async function sealSegment(key: webcrypto.CryptoKey, index: number, plain: Buffer, lastOfLength: number | null): Promise<Buffer> {
  const params: webcrypto.AesGcmParams = { name: 'AES-GCM', iv: segmentNonce(index, lastOfLength !== null), tagLength: 128 };
  if (lastOfLength !== null) params.additionalData = lengthAad(lastOfLength);
  return Buffer.from(await subtle.encrypt(params, key, plain));
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
 * Accepts the compressed stream, seals fixed-size segments in parallel and
 * writes them in order. A full segment is held back until more data arrives,
 * because only then is it known not to be the last.
 */
export class SegmentSealer {
  private buffer: Buffer;
  private filled = 0;
  private index = 0;
  private total = 0;
  private held: Buffer | null = null;
  private readonly pool: OrderedPool<Buffer>;

  constructor(
    private readonly key: webcrypto.CryptoKey,
    private readonly segmentSize: number,
    concurrency: number,
    write: (sealed: Buffer) => Promise<void>,
  ) {
    this.buffer = Buffer.allocUnsafe(segmentSize);
    this.pool = new OrderedPool<Buffer>(concurrency, write);
  }

  async write(data: Buffer): Promise<void> {
    this.total += data.length;
    let pos = 0;
    while (pos < data.length) {
      if (this.held) {
        const held = this.held;
        this.held = null;
        const index = this.index++;
        await this.pool.submit(() => sealSegment(this.key, index, held, null));
      }
      const n = Math.min(this.segmentSize - this.filled, data.length - pos);
      data.copy(this.buffer, this.filled, pos, pos + n);
      this.filled += n;
      pos += n;
      if (this.filled === this.segmentSize) {
        this.held = this.buffer;
        this.buffer = Buffer.allocUnsafe(this.segmentSize);
        this.filled = 0;
      }
    }
  }

  /** Seals the last segment; returns the payload length. */
  async end(): Promise<number> {
    const last = this.held ?? this.buffer.subarray(0, this.filled);
    const index = this.index++;
    const total = this.total;
    await this.pool.submit(() => sealSegment(this.key, index, last, total));
    await this.pool.flush();
    return total;
  }
}
