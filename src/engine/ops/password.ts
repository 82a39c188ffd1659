import { promises as fs } from 'node:fs';
import { AicoError } from '../errors.js';
import type { Keyring } from '../keys/keyring.js';
import { storedBackupPassword } from './keys.js';

/** Where a backup password came from, as --json reports it (`keys.password_source`). */
export type PasswordSource = 'stdin' | 'file' | 'env' | 'keyring' | 'prompt';

export interface PasswordLookup {
  /** --password-file */
  file?: string;
  /**
   * Whether the password stored with "aico backup password set" counts: it does for
   * backups (create, verify, info, restore), not for key files or for storing one.
   */
  stored?: boolean;
  env?: NodeJS.ProcessEnv;
  keyring?: Keyring;
}

export interface GivenPassword {
  password: Buffer;
  source: Extract<PasswordSource, 'file' | 'env' | 'keyring'>;
}

/** A file written by `echo` or an editor ends in a newline that is not part of the password. */
export function stripNewline(buf: Buffer): Buffer {
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 0x0a) end--;
  if (end > 0 && buf[end - 1] === 0x0d) end--;
  return buf.subarray(0, end);
}

export async function readPasswordFile(file: string): Promise<Buffer> {
  try {
    return stripNewline(await fs.readFile(file));
  } catch (error) {
    throw new AicoError('USAGE', `Cannot read the password file ${file}: ${(error as Error).message}`);
  }
}

/**
 * The password a user gave without being asked, from the sources the CLI and
 * the TUI share, in the order both use: --password-file, $AICO_BACKUP_PASSWORD,
 * then the stored password. Null when none gives one: the caller asks on the
 * terminal, or says how to give one. (--password-stdin comes before all of
 * them; only the CLI has it, since the TUI's standard input is the terminal.)
 */
export async function givenPassword(opts: PasswordLookup = {}): Promise<GivenPassword | null> {
  if (opts.file) return { password: await readPasswordFile(opts.file), source: 'file' };
  const env = (opts.env ?? process.env).AICO_BACKUP_PASSWORD;
  if (env) return { password: Buffer.from(env), source: 'env' };
  if (opts.stored) {
    const stored = await storedBackupPassword({ keyring: opts.keyring });
    if (stored) return { password: stored, source: 'keyring' };
  }
  return null;
}
