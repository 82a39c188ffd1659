import { promises as fs } from 'node:fs';
import { readKeyEntry } from '../archive/key-entry.js';
import { ArchiveReader } from '../archive/reader.js';
import { AicoError, fromFsError, isAicoError } from '../errors.js';
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
  source: MasterKeySource | 'backup';
  /** The backup the key was taken from (`from`), else absent. */
  from?: string;
}

/**
 * Writes the master key, sealed under `password`, to a new file (never over
 * an existing one). The key comes from the keyring or AICO_MASTER_KEY, or
 * with `from` out of that backup, opened with `password`, which then also
 * seals the file: no keyring is needed for that.
 */
export async function exportMasterKey(
  file: string,
  password: () => Promise<Buffer>,
  opts: KeyOpsOptions & { from?: string } = {},
): Promise<ExportKeyResult> {
  let key: Buffer;
  let pw: Buffer;
  let source: ExportKeyResult['source'];
  if (opts.from) {
    ({ secret: key, password: pw } = await openBackupKey(opts.from, password));
    source = 'backup';
  } else {
    const resolved = await resolveMasterKey(opts.keyring ?? systemKeyring, opts.env ?? process.env);
    if (!resolved.key) {
      throw new AicoError('NOT_FOUND', 'No AICO master key to export: none in the keyring and AICO_MASTER_KEY is not set.', {
        hint: resolved.keyringProblem?.hint ?? 'Run AICO once so it creates its key, or set AICO_MASTER_KEY, or take it from a backup with --from BACKUP.',
        details: resolved.keyringProblem ? { keyring: resolved.keyringProblem.message } : undefined,
      });
    }
    key = resolved.key;
    source = resolved.source;
    pw = await password();
  }
  if (pw.length === 0) {
    key.fill(0);
    throw new AicoError('PASSWORD_REQUIRED', 'The password is empty; a key file must be sealed with a real password. Nothing was written.');
  }
  try {
    const sealed = await sealKeyFile(key, pw, { service: KEYRING_SERVICE, account: MASTER_KEY_ACCOUNT, iterations: opts.kdfIterations });
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
    key.fill(0);
  }
  return { file, source, ...(opts.from ? { from: opts.from } : {}) };
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
  const pw = await password();
  let secret: Buffer;
  try {
    ({ secret } = await openKeyFile(data, pw, opts.what));
  } finally {
    pw.fill(0);
  }
  return storeMasterKey(secret, opts);
}

/** What a master key can be read from. */
export type KeySourceKind = 'key-file' | 'backup';

/** A password for each kind of file; only the one for the kind the file turns out to be is asked for. */
export interface KeySourcePasswords {
  keyFile: () => Promise<Buffer>;
  backup: () => Promise<Buffer>;
}

/** Like importMasterKey, from a file that is either a key file or a backup (its encryption_key.enc). */
export async function importMasterKeyFrom(
  file: string,
  passwords: KeySourcePasswords,
  opts: KeyOpsOptions & { force?: boolean } = {},
): Promise<ImportKeyResult & { from: KeySourceKind }> {
  if (await looksLikeKeyFile(file)) return { ...(await importMasterKey(await readKeyFile(file), passwords.keyFile, opts)), from: 'key-file' };
  const { secret, password } = await openBackupKey(file, passwords.backup);
  password.fill(0);
  return { ...(await storeMasterKey(secret, opts)), from: 'backup' };
}

/** Stores `secret` (zeroed afterwards) as the master key, unless a different one is there and not `force`. */
export async function storeMasterKey(secret: Buffer, opts: KeyOpsOptions & { force?: boolean }): Promise<ImportKeyResult> {
  const keyring = opts.keyring ?? systemKeyring;
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

/** A key file is a small JSON document; anything else is taken for a backup (and refused if it is none). */
async function looksLikeKeyFile(file: string): Promise<boolean> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (error) {
    throw fromFsError(error, file);
  }
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(64), 0, 64, 0);
    return buffer.subarray(0, bytesRead).toString('latin1').trimStart().startsWith('{');
  } finally {
    await handle.close();
  }
}

/**
 * The master key inside a backup (encryption_key.enc, sealed with the backup
 * password), and that password, which the caller zeroes. Only an encrypted
 * backup made while a master key was found carries one.
 */
async function openBackupKey(file: string, password: () => Promise<Buffer>): Promise<{ secret: Buffer; password: Buffer }> {
  let pw: Buffer | null = null;
  let reader: ArchiveReader;
  try {
    // The reader zeroes what it is given; the password is needed once more for the key entry.
    reader = await ArchiveReader.open(file, async () => Buffer.from((pw = await password())));
  } catch (error) {
    (pw as Buffer | null)?.fill(0);
    if (isAicoError(error, 'NOT_AN_ARCHIVE')) {
      throw new AicoError('CORRUPT_ARCHIVE', `${file} is neither an AICO key file nor a backup.`, {
        hint: 'Give the file "aico backup key export" wrote, or an encrypted aico-backup archive.',
      });
    }
    throw error;
  }
  try {
    if (!reader.encrypted || !pw) {
      throw new AicoError('NOT_FOUND', `${file} is not encrypted, and an unencrypted backup never holds the master key.`, {
        hint: 'Use an encrypted backup of this home, or a key file from "aico backup key export".',
      });
    }
    const sealed = await readKeyEntry(reader);
    if (!sealed) {
      throw new AicoError('NOT_FOUND', `${file} holds no master key: none was found when it was made (warning MASTER_KEY_ABSENT).`, {
        hint: 'Use another encrypted backup of this home, or a key file from "aico backup key export".',
      });
    }
    const { secret } = await openKeyFile(sealed, pw, `The master key in ${file}`);
    return { secret, password: pw };
  } catch (error) {
    (pw as Buffer | null)?.fill(0);
    throw error;
  } finally {
    await reader.close();
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
    if (isAicoError(error, 'KEYRING_UNAVAILABLE')) return null;
    throw error;
  }
}
