import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { FORMAT_VERSION, MAX_FORMAT_VERSION } from '../archive/layout.js';
import { AicoError } from '../errors.js';
import { deriveKek, MAX_PBKDF2_ITERATIONS, type KdfParams } from './kdf.js';

/**
 * The plaintext header of an encrypted archive (docs/FORMAT.md, "Encrypted
 * container"). Layout, all integers big-endian:
 *
 *   0      8  magic "AICOBKP" followed by a zero byte
 *   8      2  container version
 *   10     4  L = length of the JSON public header
 *   14     L  JSON public header (UTF-8)
 *   14+L   8  P = payload length in bytes (plaintext of all segments)
 *   22+L  12  nonce of the key wrap
 *   34+L  32  data key, encrypted (AES-256-GCM under the password key)
 *   66+L  16  tag of the key wrap; AAD = bytes [0, 34+L)
 *   82+L  32  SHA-256 of bytes [0, 82+L) (unkeyed: tells corruption from a wrong password)
 *   114+L     segments
 */
export const MAGIC = Buffer.from('AICOBKP\x00', 'latin1');
/**
 * Always the archive format version: `list` can then tell an encrypted
 * archive's format without the password, and an older reader refuses a newer
 * format before it asks for one.
 */
export const CONTAINER_VERSION = FORMAT_VERSION;
/** The newest container version this version reads (= the newest format). */
export const MAX_CONTAINER_VERSION = MAX_FORMAT_VERSION;
const FIXED = 14;
const TRAILER = 8 + 12 + 32 + 16 + 32;

export interface PublicHeader {
  id: string;
  created: string;
  backup_type: string;
  parent_id: string | null;
  kdf: { name: 'pbkdf2-hmac-sha256'; iterations: number; salt: string };
  cipher: 'aes-256-gcm-stream';
  segment_size: number;
}

export interface ParsedHeader {
  version: number;
  header: PublicHeader;
  payloadLength: number;
  /** Total header bytes; segments start here. */
  length: number;
  raw: Buffer;
}

export function headerLength(publicHeader: PublicHeader): number {
  return FIXED + Buffer.byteLength(JSON.stringify(publicHeader)) + TRAILER;
}

export function kdfParamsOf(header: PublicHeader): KdfParams {
  return { name: header.kdf.name, iterations: header.kdf.iterations, salt: Buffer.from(header.kdf.salt, 'base64') };
}

/** Builds the final header once the payload length is known; the caller wraps with the KEK. */
export function encodeHeader(publicHeader: PublicHeader, payloadLength: number, kek: Buffer, dataKey: Buffer, version = CONTAINER_VERSION): Buffer {
  const json = Buffer.from(JSON.stringify(publicHeader));
  const out = Buffer.alloc(FIXED + json.length + TRAILER);
  MAGIC.copy(out, 0);
  out.writeUInt16BE(version, 8);
  out.writeUInt32BE(json.length, 10);
  json.copy(out, FIXED);
  let pos = FIXED + json.length;
  out.writeBigUInt64BE(BigInt(payloadLength), pos);
  pos += 8;
  const nonce = randomBytes(12);
  nonce.copy(out, pos);
  pos += 12;
  const cipher = createCipheriv('aes-256-gcm', kek, nonce);
  cipher.setAAD(out.subarray(0, pos));
  cipher.update(dataKey).copy(out, pos);
  cipher.final();
  pos += 32;
  cipher.getAuthTag().copy(out, pos);
  pos += 16;
  createHash('sha256').update(out.subarray(0, pos)).digest().copy(out, pos);
  return out;
}

export function looksEncrypted(prefix: Buffer): boolean {
  return prefix.length >= MAGIC.length && prefix.subarray(0, MAGIC.length).equals(MAGIC);
}

/** How many bytes to read to parse the header, given its first 14 bytes (null if not ours). */
export function headerSizeFromPrefix(prefix: Buffer): number | null {
  if (!looksEncrypted(prefix) || prefix.length < FIXED) return null;
  return FIXED + prefix.readUInt32BE(10) + TRAILER;
}

const SALT_BASE64 = /^[A-Za-z0-9+/]{22}==$/;

const corrupt = (why: string) =>
  new AicoError('CORRUPT_HEADER', `The archive header is damaged (${why}).`, {
    hint: 'The file was changed after it was written; use another copy of this backup.',
  });

export function parseHeader(buf: Buffer): ParsedHeader {
  if (!looksEncrypted(buf)) throw new AicoError('NOT_AN_ARCHIVE', 'This is not an aico-backup archive.');
  if (buf.length < FIXED) throw corrupt('too short');
  const jsonLength = buf.readUInt32BE(10);
  const length = FIXED + jsonLength + TRAILER;
  if (buf.length < length) throw corrupt('too short');
  const digest = createHash('sha256').update(buf.subarray(0, length - 32)).digest();
  if (!digest.equals(buf.subarray(length - 32, length))) throw corrupt('checksum mismatch');
  const version = buf.readUInt16BE(8);
  if (version > MAX_CONTAINER_VERSION) {
    throw new AicoError('UNSUPPORTED_FORMAT', `This archive uses container version ${version}; this aico-backup reads up to ${MAX_CONTAINER_VERSION}.`, {
      hint: 'Install a newer aico-backup to read it.',
    });
  }
  // No version 0 was ever written, so it is damage (or a forged checksum), not an old format.
  if (version < 1) throw corrupt(`unknown container version ${version}`);
  let header: PublicHeader;
  try {
    header = JSON.parse(buf.subarray(FIXED, FIXED + jsonLength).toString('utf8')) as PublicHeader;
  } catch {
    throw corrupt('unreadable JSON');
  }
  const iterations = header?.kdf?.iterations;
  if (header?.kdf?.name !== 'pbkdf2-hmac-sha256' || !Number.isInteger(iterations) || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) {
    throw corrupt('unknown key derivation parameters');
  }
  // Node's base64 decoder skips what it cannot read, so check the text: 16 bytes, standard alphabet, padded.
  if (typeof header.kdf.salt !== 'string' || !SALT_BASE64.test(header.kdf.salt)) throw corrupt('the salt is not 16 bytes of base64');
  const seg = header.segment_size;
  if (header.cipher !== 'aes-256-gcm-stream' || !Number.isInteger(seg) || seg < 1024 || seg > 16 << 20) {
    throw corrupt('unknown cipher parameters');
  }
  const payloadLength = Number(buf.readBigUInt64BE(FIXED + jsonLength));
  return { version, header, payloadLength, length, raw: buf.subarray(0, length) };
}

/** Recovers the data key; a failed unwrap on an intact header means the password is wrong. */
export async function unwrapDataKey(parsed: ParsedHeader, password: Buffer): Promise<Buffer> {
  const kek = await deriveKek(password, kdfParamsOf(parsed.header));
  const base = parsed.length - TRAILER + 8;
  const raw = parsed.raw;
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, raw.subarray(base, base + 12));
    decipher.setAAD(raw.subarray(0, base + 12));
    decipher.setAuthTag(raw.subarray(base + 44, base + 60));
    const key = decipher.update(raw.subarray(base + 12, base + 44));
    decipher.final();
    return key;
  } catch {
    throw new AicoError('WRONG_PASSWORD', 'Wrong password for this backup.', {
      hint: 'Check the password (it is case-sensitive) and try again.',
    });
  } finally {
    kek.fill(0);
  }
}
