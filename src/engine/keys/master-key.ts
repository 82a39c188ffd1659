import { hkdfSync } from 'node:crypto';
import type { AicoError } from '../errors.js';
import { MASTER_KEY_ACCOUNT, systemKeyring, type Keyring } from './keyring.js';

export type MasterKeySource = 'keyring' | 'env' | 'none';

export interface ResolvedMasterKey {
  source: MasterKeySource;
  /** The key exactly as stored (UTF-8 bytes of the keyring's string); the caller zeroes it. */
  key: Buffer | null;
  /** Set when the keyring could not be used, whatever source won in the end. */
  keyringProblem: AicoError | null;
}

/** Master key sources, in order: the platform keyring, then $AICO_MASTER_KEY, then none. */
export async function resolveMasterKey(keyring: Keyring = systemKeyring, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedMasterKey> {
  let keyringProblem: AicoError | null = null;
  try {
    const key = await keyring.get(MASTER_KEY_ACCOUNT);
    if (key && key.length > 0) return { source: 'keyring', key, keyringProblem };
  } catch (error) {
    if ((error as AicoError)?.code !== 'KEYRING_UNAVAILABLE') throw error;
    keyringProblem = error as AicoError;
  }
  if (env.AICO_MASTER_KEY) return { source: 'env', key: Buffer.from(env.AICO_MASTER_KEY, 'utf8'), keyringProblem };
  return { source: 'none', key: null, keyringProblem };
}

/**
 * The master key as 32 key bytes: AICO stores it as a string, hex (64
 * characters) or base64 of 32 bytes; anything else is used as its UTF-8
 * bytes (HKDF accepts any length).
 */
export function masterKeyBytes(stored: Buffer): Buffer {
  const text = stored.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const raw = Buffer.from(text, 'base64');
    if (raw.length === 32) return raw;
  }
  return Buffer.from(stored);
}

const LIBSQL_INFO = Buffer.from('aico-libsql');

/**
 * The key AICO opens its libSQL database with: HKDF-SHA256(ikm = master key
 * bytes, salt = contents of data/aico.db.salt, info = "aico-libsql"), 32
 * bytes, passed to libSQL as 64 lowercase hex characters.
 */
export function deriveLibsqlKey(masterKey: Buffer, salt: Buffer): string {
  const ikm = masterKeyBytes(masterKey);
  const key = Buffer.from(hkdfSync('sha256', ikm, salt, LIBSQL_INFO, 32));
  const hex = key.toString('hex');
  key.fill(0);
  ikm.fill(0);
  return hex;
}
