import { pbkdf2 } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { AicoError } from '../errors.js';
import { aicoConfigDir, aicoKdfSettings, AICO_DEFAULT_PBKDF2_ITERATIONS } from '../home/aico-config.js';
import { LIBSQL_SALT_HOME } from '../home/layout.js';

const pbkdf2Async = promisify(pbkdf2);

/** The context AICO appends to the master key (key_manager.py: f"aico-db-{database_type}"). */
export const LIBSQL_KEY_CONTEXT = Buffer.from('aico-db-libsql');

/** AICO keeps its master key in the keyring as hex and reads it with bytes.fromhex. */
export function masterKeyBytes(stored: Buffer): Buffer {
  // bytes.fromhex skips ASCII whitespace between bytes.
  const text = stored.toString('utf8').replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(text)) {
    throw new AicoError('DATABASE_INVALID', 'The AICO master key is not hex, which is how AICO stores it; the libSQL key cannot be derived from it.', {
      hint: 'Check the keyring entry AICO/master_key or $AICO_MASTER_KEY (64 hex characters), or give the database key itself as AICO_LIBSQL_KEY.',
    });
  }
  return Buffer.from(text, 'hex');
}

/**
 * AICO's libSQL key (key_manager.py derive_database_key): PBKDF2-HMAC-SHA256
 * of master key bytes || "aico-db-libsql", salted with the whole content of
 * data/aico.db.salt, 32 bytes, as 64 lowercase hex characters for
 * `PRAGMA key = 'x"<hex>"'`.
 */
export async function deriveLibsqlKey(masterKey: Buffer, salt: Buffer, iterations = AICO_DEFAULT_PBKDF2_ITERATIONS): Promise<string> {
  const bytes = masterKeyBytes(masterKey);
  const password = Buffer.concat([bytes, LIBSQL_KEY_CONTEXT]);
  try {
    const key = await pbkdf2Async(password, salt, iterations, 32, 'sha256');
    const hex = key.toString('hex');
    key.fill(0);
    return hex;
  } finally {
    bytes.fill(0);
    password.fill(0);
  }
}

/** $AICO_LIBSQL_KEY: the raw database key, 64 hex characters, as AICO applies it. */
export function explicitLibsqlKey(env: NodeJS.ProcessEnv = process.env): string | null {
  const value = env.AICO_LIBSQL_KEY?.trim();
  if (!value) return null;
  if (!/^[0-9a-fA-F]{64}$/.test(value)) {
    throw new AicoError('USAGE', 'AICO_LIBSQL_KEY must be the raw libSQL key: 64 hex characters (32 bytes).', {
      hint: 'Leave it unset to derive the key from the AICO master key and data/aico.db.salt.',
    });
  }
  return value.toLowerCase();
}

export interface HomeLibsqlKey {
  key: string | null;
  /** PBKDF2 iterations used (recorded in metadata so a restore derives the same key). */
  iterations: number | null;
  /** Why no key could be had, when key is null. */
  problem: string | null;
}

/** The libSQL key of the database in `root` (a home or a staged restore), derived as AICO derives it. */
export async function libsqlKeyFor(
  root: string,
  masterKey: Buffer | null,
  opts: { env?: NodeJS.ProcessEnv; iterations?: number; configDir?: string } = {},
): Promise<HomeLibsqlKey> {
  const explicit = explicitLibsqlKey(opts.env);
  if (explicit) return { key: explicit, iterations: null, problem: null };
  if (!masterKey) return { key: null, iterations: null, problem: 'no AICO master key was found (keyring or AICO_MASTER_KEY)' };
  const saltFile = path.join(root, ...LIBSQL_SALT_HOME.split('/'));
  const salt = await fs.readFile(saltFile).catch(() => null);
  if (!salt) return { key: null, iterations: null, problem: `${saltFile} is missing` };
  const iterations = opts.iterations ?? (await aicoKdfSettings(opts.configDir ?? aicoConfigDir(root, opts.env))).iterations;
  return { key: await deriveLibsqlKey(masterKey, salt, iterations), iterations, problem: null };
}
