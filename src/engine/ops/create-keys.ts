import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sealKeyFile } from '../keys/key-file.js';
import { KEYRING_SERVICE, MASTER_KEY_ACCOUNT, type Keyring } from '../keys/keyring.js';
import { deriveLibsqlKey, resolveMasterKey, type MasterKeySource } from '../keys/master-key.js';

export interface CreateKeys {
  /** encryption_key.enc for the archive, when encrypting and a master key exists. */
  keyEntry: Buffer | null;
  masterKey: { source: MasterKeySource; included: boolean };
  /** The key the libSQL database opens with (hex), or null. */
  libsqlKey: string | null;
}

export interface CreateKeysOptions {
  home: string;
  password: Buffer | null;
  wantsLibsql: boolean;
  keyring?: Keyring;
  env?: NodeJS.ProcessEnv;
  kdfIterations?: number;
  warn(code: string, message: string): void;
}

/**
 * The keys a backup needs: the master key (sealed into the archive when it
 * is encrypted) and the libSQL key derived from it. $AICO_LIBSQL_KEY, when
 * set, is used as the libSQL key as it is. The master key is only looked up
 * when something needs it, and zeroed as soon as it is used.
 */
export async function prepareCreateKeys(opts: CreateKeysOptions): Promise<CreateKeys> {
  const env = opts.env ?? process.env;
  const explicitLibsql = env.AICO_LIBSQL_KEY || null;
  const needMaster = opts.password !== null || (opts.wantsLibsql && !explicitLibsql);
  const keys: CreateKeys = { keyEntry: null, masterKey: { source: 'none', included: false }, libsqlKey: explicitLibsql };
  if (!needMaster) {
    if (opts.wantsLibsql) notIncluded(opts);
    return keys;
  }
  const resolved = await resolveMasterKey(opts.keyring, env);
  keys.masterKey.source = resolved.source;
  try {
    if (resolved.key && opts.wantsLibsql && !explicitLibsql) {
      const salt = await fs.readFile(path.join(opts.home, 'data', 'aico.db.salt')).catch(() => null);
      if (salt) keys.libsqlKey = deriveLibsqlKey(resolved.key, salt);
      else opts.warn('SALT_MISSING', `${path.join(opts.home, 'data', 'aico.db.salt')} is missing; the libSQL key cannot be derived.`);
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
