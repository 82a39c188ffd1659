import { createHmac } from 'node:crypto';
import type { WarningCode } from '../codes.js';
import { sealKeyFile } from '../keys/key-file.js';
import { KEYRING_SERVICE, MASTER_KEY_ACCOUNT, type Keyring } from '../keys/keyring.js';
import { explicitLibsqlKey, libsqlKeyFor } from '../keys/libsql-key.js';
import { resolveMasterKey, type MasterKeySource } from '../keys/master-key.js';

export interface CreateKeys {
  /** encryption_key.enc for the archive, when encrypting and a master key exists. */
  keyEntry: Buffer | null;
  masterKey: { source: MasterKeySource; included: boolean };
  /** The key the libSQL database opens with (hex), or null. */
  libsqlKey: string | null;
  /** PBKDF2 iterations that key was derived with (null when given as AICO_LIBSQL_KEY or absent). */
  libsqlIterations: number | null;
  /** Tells master keys apart without revealing them (metadata.master_key.fingerprint); null when none was looked up. */
  fingerprint: string | null;
}

/** HMAC-SHA256 keyed with the master key (as stored) over a fixed label, first 16 bytes as hex. */
export const masterKeyFingerprint = (key: Buffer): string =>
  createHmac('sha256', key).update('aico-backup master key fingerprint').digest('hex').slice(0, 32);

export interface CreateKeysOptions {
  home: string;
  password: Buffer | null;
  wantsLibsql: boolean;
  keyring?: Keyring;
  env?: NodeJS.ProcessEnv;
  kdfIterations?: number;
  warn(code: WarningCode, message: string): void;
}

/**
 * The keys a backup needs: the master key (sealed into the archive when it
 * is encrypted) and the libSQL key derived from it as AICO derives it
 * (keys/libsql-key.ts). $AICO_LIBSQL_KEY, when set, is the raw libSQL key. The master key is only looked up
 * when something needs it, and zeroed as soon as it is used.
 */
export async function prepareCreateKeys(opts: CreateKeysOptions): Promise<CreateKeys> {
  const env = opts.env ?? process.env;
  const explicitLibsql = explicitLibsqlKey(env);
  const needMaster = opts.password !== null || (opts.wantsLibsql && !explicitLibsql);
  const keys: CreateKeys = { keyEntry: null, masterKey: { source: 'none', included: false }, libsqlKey: explicitLibsql, libsqlIterations: null, fingerprint: null };
  if (!needMaster) {
    if (opts.wantsLibsql) notIncluded(opts);
    return keys;
  }
  const resolved = await resolveMasterKey(opts.keyring, env);
  keys.masterKey.source = resolved.source;
  if (resolved.key) keys.fingerprint = masterKeyFingerprint(resolved.key);
  try {
    if (resolved.key && opts.wantsLibsql && !explicitLibsql) {
      const derived = await libsqlKeyFor(opts.home, resolved.key, { env });
      keys.libsqlKey = derived.key;
      keys.libsqlIterations = derived.iterations;
      if (derived.problem) opts.warn('SALT_MISSING', `${derived.problem}; the libSQL key cannot be derived.`);
    }
    if (opts.password && resolved.key) {
      keys.keyEntry = await sealKeyFile(resolved.key, opts.password, { service: KEYRING_SERVICE, account: MASTER_KEY_ACCOUNT, iterations: opts.kdfIterations });
      keys.masterKey.included = true;
    } else if (opts.password) {
      opts.warn(
        'MASTER_KEY_ABSENT',
        resolved.keyringProblem
          ? `${resolved.keyringProblem.message} The backup will not contain the AICO master key. ${resolved.keyringProblem.hint}`
          : 'No AICO master key found (keyring or AICO_MASTER_KEY); the backup will not contain it.',
      );
    } else if (opts.wantsLibsql) {
      notIncluded(opts);
    }
  } finally {
    resolved.key?.fill(0);
  }
  return keys;
}

function notIncluded(opts: CreateKeysOptions): void {
  opts.warn(
    'MASTER_KEY_NOT_INCLUDED',
    'An unencrypted backup never holds the AICO master key; the libSQL database in it opens only with that key (keep a copy: aico backup key export FILE).',
  );
}
