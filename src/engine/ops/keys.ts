import { promises as fs } from 'node:fs';
import { AicoError, fromFsError } from '../errors.js';
import { AtomicFile } from '../fsutil/atomic-file.js';
import { openKeyFile, sealKeyFile } from '../keys/key-file.js';
import { BACKUP_PASSWORD_ACCOUNT, KEYRING_SERVICE, MASTER_KEY_ACCOUNT, systemKeyring, type Keyring } from '../keys/keyring.js';
import { resolveMasterKey, type MasterKeySource } from '../keys/master-key.js';

/**
 * Key management commands: the master key's paper-key style export/import
 * and the backup password kept in the keyring for unattended backups.
 * Secrets are Buffers, zeroed once used; none reaches an event or a result.
 */
export interface KeyOpsOptions {
  keyring?: Keyring;
  env?: NodeJS.ProcessEnv;
  /** Tests only: a cheaper KDF. */
  kdfIterations?: number;
}

export interface ExportKeyResult {
  file: string;
  source: MasterKeySource;
}

/** Writes the master key, sealed under `password`, to a new file (never over an existing one). */
export async function exportMasterKey(file: string, password: () => Promise<Buffer>, opts: KeyOpsOptions = {}): Promise<ExportKeyResult> {
  const resolved = await resolveMasterKey(opts.keyring ?? systemKeyring, opts.env ?? process.env);
  if (!resolved.key) {
    throw new AicoError('NOT_FOUND', 'No AICO master key to export: none in the keyring and AICO_MASTER_KEY is not set.', {
      hint: resolved.keyringProblem?.hint ?? 'Run AICO once so it creates its key, or set AICO_MASTER_KEY.',
      details: resolved.keyringProblem ? { keyring: resolved.keyringProblem.message } : undefined,
    });
  }
  const pw = await password();
  if (pw.length === 0) {
    resolved.key.fill(0);
    throw new AicoError('PASSWORD_REQUIRED', 'The password is empty; a key file must be sealed with a real password. Nothing was written.');
  }
  try {
    const sealed = await sealKeyFile(resolved.key, pw, { service: KEYRING_SERVICE, account: MASTER_KEY_ACCOUNT, iterations: opts.kdfIterations });
    const out = await AtomicFile.create(file);
    try {
      await out.write(sealed);
      await out.commit();
    } catch (error) {
      await out.abort();
      throw error;
    }
  } finally {
    pw.fill(0);
    resolved.key.fill(0);
  }
  return { file, source: resolved.source };
}

export interface ImportKeyResult {
  /** 'stored': written to the keyring; 'unchanged': the keyring already held this key. */
  outcome: 'stored' | 'unchanged';
  replaced: boolean;
}

/**
 * Decrypts a key file (or an archive's encryption_key.enc) and stores the
 * master key in the keyring. A wrong password leaves the keyring untouched;
 * so does a different key already there, unless `force`.
 */
export async function importMasterKey(
  data: Buffer,
  password: () => Promise<Buffer>,
  opts: KeyOpsOptions & { force?: boolean; what?: string } = {},
): Promise<ImportKeyResult> {
  const keyring = opts.keyring ?? systemKeyring;
  const pw = await password();
  let secret: Buffer;
  try {
    ({ secret } = await openKeyFile(data, pw, opts.what));
  } finally {
    pw.fill(0);
  }
  try {
    const existing = await keyring.get(MASTER_KEY_ACCOUNT);
    if (existing) {
      const same = existing.equals(secret);
      existing.fill(0);
      if (same) return { outcome: 'unchanged', replaced: false };
      if (!opts.force) {
        throw new AicoError('KEY_CONFLICT', 'The keyring already holds a different AICO master key; it was left as it is.', {
          hint: 'Export the current key first (aico backup key export FILE), then rerun with --force to replace it.',
        });
      }
    }
    await keyring.set(MASTER_KEY_ACCOUNT, secret);
    return { outcome: 'stored', replaced: existing !== null };
  } finally {
    secret.fill(0);
  }
}

export async function readKeyFile(file: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (error) {
    throw fromFsError(error, file);
  }
}

export interface PasswordStatus {
  stored: boolean;
}

export async function setStoredBackupPassword(password: Buffer, opts: KeyOpsOptions = {}): Promise<void> {
  if (password.length === 0) throw new AicoError('PASSWORD_REQUIRED', 'The password is empty; nothing was stored.');
  try {
    await (opts.keyring ?? systemKeyring).set(BACKUP_PASSWORD_ACCOUNT, password);
  } finally {
    password.fill(0);
  }
}

export async function clearStoredBackupPassword(opts: KeyOpsOptions = {}): Promise<{ removed: boolean }> {
  return { removed: await (opts.keyring ?? systemKeyring).delete(BACKUP_PASSWORD_ACCOUNT) };
}

export async function storedBackupPasswordStatus(opts: KeyOpsOptions = {}): Promise<PasswordStatus> {
  const value = await (opts.keyring ?? systemKeyring).get(BACKUP_PASSWORD_ACCOUNT);
  value?.fill(0);
  return { stored: value !== null && value.length > 0 };
}

/** The stored backup password, or null when there is none or the keyring is unavailable. */
export async function storedBackupPassword(opts: KeyOpsOptions = {}): Promise<Buffer | null> {
  try {
    const value = await (opts.keyring ?? systemKeyring).get(BACKUP_PASSWORD_ACCOUNT);
    return value && value.length > 0 ? value : null;
  } catch (error) {
    if ((error as AicoError)?.code === 'KEYRING_UNAVAILABLE') return null;
    throw error;
  }
}
