import { pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/** OWASP 2023 minimum for PBKDF2-HMAC-SHA256. */
export const MIN_PBKDF2_ITERATIONS = 600_000;
/** A hostile header must not be able to pin a CPU for hours. */
export const MAX_PBKDF2_ITERATIONS = 50_000_000;

export interface KdfParams {
  name: 'pbkdf2-hmac-sha256';
  iterations: number;
  salt: Buffer;
}

/**
 * Test seam: sees the parameters (never the password) of every derivation.
 * Each costs about 0.2 s at 600,000 iterations, so a second derivation of
 * the same key is a cost the tests can count.
 */
export const kdfProbe: { onDerive: ((params: KdfParams) => void) | null } = { onDerive: null };

/** Derives the 32-byte key-encryption key from a password; runs on the libuv pool. */
export function deriveKek(password: Buffer, params: KdfParams): Promise<Buffer> {
  kdfProbe.onDerive?.(params);
  return pbkdf2Async(password, params.salt, params.iterations, 32, 'sha256');
}
