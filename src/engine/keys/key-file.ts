import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AicoError } from '../errors.js';
import { deriveKek, MAX_PBKDF2_ITERATIONS, MIN_PBKDF2_ITERATIONS } from '../crypto/kdf.js';

/**
 * encryption_key.enc (in every encrypted backup that has a master key) and
 * the file `aico backup key export` writes: the master key sealed with
 * AES-256-GCM under a key derived from a password with PBKDF2-HMAC-SHA256.
 * A small JSON document so it can be printed, stored on paper and read by
 * any tool; every field but the ciphertext and tag is bound as AAD.
 * Documented in docs/FORMAT.md ("Key file").
 */
export const KEY_FILE_FORMAT = 'aico-key/1';

interface KeyFileJson {
  format: string;
  service: string;
  account: string;
  kdf: { name: 'pbkdf2-hmac-sha256'; iterations: number; salt: string };
  cipher: 'aes-256-gcm';
  nonce: string;
  ciphertext: string;
  tag: string;
}

const aad = (f: KeyFileJson) =>
  Buffer.from(JSON.stringify([f.format, f.service, f.account, f.kdf.name, f.kdf.iterations, f.kdf.salt, f.cipher, f.nonce]));

export interface SealKeyOptions {
  service: string;
  account: string;
  /** Defaults to the OWASP minimum; lower values are for tests only. */
  iterations?: number;
}

export async function sealKeyFile(secret: Buffer, password: Buffer, opts: SealKeyOptions): Promise<Buffer> {
  const iterations = opts.iterations ?? MIN_PBKDF2_ITERATIONS;
  const salt = randomBytes(16);
  const kek = await deriveKek(password, { name: 'pbkdf2-hmac-sha256', iterations, salt });
  try {
    const doc: KeyFileJson = {
      format: KEY_FILE_FORMAT,
      service: opts.service,
      account: opts.account,
      kdf: { name: 'pbkdf2-hmac-sha256', iterations, salt: salt.toString('base64') },
      cipher: 'aes-256-gcm',
      nonce: randomBytes(12).toString('base64'),
      ciphertext: '',
      tag: '',
    };
    const cipher = createCipheriv('aes-256-gcm', kek, Buffer.from(doc.nonce, 'base64'));
    cipher.setAAD(aad(doc));
    const sealed = Buffer.concat([cipher.update(secret), cipher.final()]);
    doc.ciphertext = sealed.toString('base64');
    doc.tag = cipher.getAuthTag().toString('base64');
    return Buffer.from(`${JSON.stringify(doc, null, 2)}\n`);
  } finally {
    kek.fill(0);
  }
}

function parse(data: Buffer, what: string): KeyFileJson {
  const bad = (why: string) =>
    new AicoError('CORRUPT_ARCHIVE', `${what} is not a valid AICO key file: ${why}.`, {
      hint: 'Use an untouched copy of the key file or of the backup.',
    });
  let doc: KeyFileJson;
  try {
    doc = JSON.parse(data.toString('utf8')) as KeyFileJson;
  } catch {
    throw bad('not JSON');
  }
  if (typeof doc !== 'object' || doc === null) throw bad('not a JSON object');
  if (typeof doc.format !== 'string' || !doc.format.startsWith('aico-key/')) throw bad('no "aico-key" format field');
  if (doc.format !== KEY_FILE_FORMAT) {
    throw new AicoError('UNSUPPORTED_FORMAT', `${what} uses key file format ${doc.format}; this aico-backup reads ${KEY_FILE_FORMAT}.`, {
      hint: 'Install a newer aico-backup to read it.',
    });
  }
  const it = doc.kdf?.iterations;
  if (doc.kdf?.name !== 'pbkdf2-hmac-sha256' || !Number.isInteger(it) || it < 1 || it > MAX_PBKDF2_ITERATIONS) throw bad('unsupported KDF parameters');
  if (doc.cipher !== 'aes-256-gcm') throw bad('unsupported cipher');
  for (const k of ['nonce', 'ciphertext', 'tag', 'service', 'account'] as const) if (typeof doc[k] !== 'string') throw bad(`missing "${k}"`);
  if (typeof doc.kdf.salt !== 'string') throw bad('missing salt');
  // A truncated tag would weaken authentication: accept only the full 16 bytes (and a 12-byte nonce).
  if (Buffer.from(doc.tag, 'base64').length !== 16 || Buffer.from(doc.nonce, 'base64').length !== 12) throw bad('nonce or tag has the wrong length');
  return doc;
}

export interface OpenedKey {
  secret: Buffer;
  service: string;
  account: string;
}

/** Decrypts a key file; a wrong password (or a modified file, which GCM cannot tell apart) is WRONG_PASSWORD. */
export async function openKeyFile(data: Buffer, password: Buffer, what = 'The key file'): Promise<OpenedKey> {
  const doc = parse(data, what);
  const kek = await deriveKek(password, { name: 'pbkdf2-hmac-sha256', iterations: doc.kdf.iterations, salt: Buffer.from(doc.kdf.salt, 'base64') });
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(doc.nonce, 'base64'));
    decipher.setAAD(aad(doc));
    decipher.setAuthTag(Buffer.from(doc.tag, 'base64'));
    const secret = Buffer.concat([decipher.update(Buffer.from(doc.ciphertext, 'base64')), decipher.final()]);
    return { secret, service: doc.service, account: doc.account };
  } catch {
    throw new AicoError('WRONG_PASSWORD', `Cannot decrypt ${what.charAt(0).toLowerCase()}${what.slice(1)}: wrong password, or the file was modified.`, {
      hint: 'Enter the password the key was exported (or the backup was created) with. Nothing was changed.',
    });
  } finally {
    kek.fill(0);
  }
}
