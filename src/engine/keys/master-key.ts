import { isAicoError, type AicoError } from '../errors.js';
import { MASTER_KEY_ACCOUNT, systemKeyring, type Keyring } from './keyring.js';

export type MasterKeySource = 'keyring' | 'env' | 'none';

export interface ResolvedMasterKey {
  source: MasterKeySource;
  /** The key exactly as stored (UTF-8 bytes of the keyring's string: AICO writes 64 hex characters); the caller zeroes it. */
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
    if (!isAicoError(error, 'KEYRING_UNAVAILABLE')) throw error;
    keyringProblem = error;
  }
  if (env.AICO_MASTER_KEY) return { source: 'env', key: Buffer.from(env.AICO_MASTER_KEY, 'utf8'), keyringProblem };
  return { source: 'none', key: null, keyringProblem };
}

export { deriveLibsqlKey, masterKeyBytes } from './libsql-key.js';
