/**
 * Every failure the engine reports carries a stable code. Codes are part of the
 * CLI contract (`--json` prints them, scripts branch on them); exit codes group
 * them so shells can tell "wrong password" from "damaged archive" without JSON.
 */
export const ERROR_CODES = {
  USAGE: 2,
  CONFIG_INVALID: 2,
  PASSWORD_REQUIRED: 2,
  WRONG_PASSWORD: 3,
  CORRUPT_HEADER: 4,
  CORRUPT_ARCHIVE: 4,
  TRUNCATED_ARCHIVE: 4,
  TRAILING_DATA: 4,
  CHECKSUM_MISMATCH: 4,
  NOT_AN_ARCHIVE: 4,
  NOT_FOUND: 5,
  LOCKED: 6,
  NO_SPACE: 7,
  UNSUPPORTED_FORMAT: 8,
  KEYRING_UNAVAILABLE: 9,
  KEY_CONFLICT: 10,
  DATABASE_IN_USE: 11,
  DATABASE_INVALID: 12,
  HOME_INCOMPLETE: 13,
  NO_PARENT: 14,
  PARENT_MISMATCH: 14,
  CHAIN_TOO_LONG: 14,
  CHAIN_BROKEN: 15,
  HAS_DEPENDENTS: 16,
  FUSE_UNAVAILABLE: 17,
  NOT_MOUNTED: 18,
  MIGRATION_INCOMPLETE: 19,
  REMOTE_AUTH: 20,
  REMOTE_NO_BUCKET: 21,
  REMOTE_CLOCK_SKEW: 22,
  REMOTE_UNAVAILABLE: 23,
  NO_VERIFIED_BACKUP: 4,
  IO_ERROR: 1,
  INTERNAL: 1,
  CANCELLED: 130,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Every exit status the CLI can end with: success, each error's, and SIGTERM's (CANCELLED by a signal). */
export type ExitCode = 0 | (typeof ERROR_CODES)[ErrorCode] | 143;

/** What each exit status means, for --help (one line each, within 80 columns there): a new exit code in ERROR_CODES does not compile until it is described here. */
export const EXIT_CODES: { readonly [K in ExitCode]: string } = {
  0: 'success',
  1: 'internal or I/O error',
  2: 'usage or configuration error, or no password source',
  3: 'wrong password',
  4: 'archive damaged: corrupt, truncated, tampered, or a checksum mismatch',
  5: 'file or AICO home not found',
  6: 'another aico-backup holds the lock on the backup directory',
  7: 'disk full',
  8: 'archive format newer than this aico-backup',
  9: 'the system keyring is not available (see AICO_MASTER_KEY)',
  10: 'the keyring already holds a different master key (key import --force)',
  11: 'a database is in use (AICO running): stop it, or --allow-live / --force',
  12: 'a database does not open or validate (often: its master key is missing)',
  13: 'an interrupted restore left the home half swapped (run what it names)',
  14: 'no usable backup to build an incremental or differential on',
  15: 'a backup this one builds on is missing, damaged or not the one named',
  16: 'other backups build on the one to delete (consolidate them first)',
  17: 'gocryptfs or FUSE not usable (install them; containers need /dev/fuse)',
  18: 'the AICO home is encrypted (gocryptfs) and not mounted: migrate mount',
  19: 'an encryption migration is unfinished: run it again, or migrate rollback',
  20: 'the object store refused the credentials (remote login, or AWS_* vars)',
  21: 'the bucket does not exist (or another region or endpoint has it)',
  22: 'this clock and the object store\'s differ by too much: set the time',
  23: 'the object store could not be reached, after retries',
  130: 'cancelled (Ctrl-C)',
  143: 'cancelled (SIGTERM)',
};

export interface AicoErrorOptions {
  /** What the user can do about it, shown under the message. */
  hint?: string;
  cause?: unknown;
  /** Extra machine-readable facts (never secrets). */
  details?: Record<string, unknown>;
}

export class AicoError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: AicoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AicoError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code];
  }
}

export function isAicoError(error: unknown, code?: ErrorCode): error is AicoError {
  return error instanceof AicoError && (code === undefined || error.code === code);
}

/** Turns filesystem errors the user can act on into coded errors; rethrows the rest as-is. */
export function fromFsError(error: unknown, what: string): AicoError {
  if (error instanceof AicoError) return error;
  const err = error as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new AicoError('NO_SPACE', `No space left while writing ${what}.`, {
        hint: 'Free some space on that disk or choose another output directory with --output.',
        cause: error,
      });
    case 'ENOENT':
      return new AicoError('NOT_FOUND', `${what} does not exist.`, { cause: error });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new AicoError('IO_ERROR', `Permission denied for ${what}.`, {
        hint: 'Check the ownership and permissions of that path.',
        cause: error,
      });
    default:
      return new AicoError('IO_ERROR', `${what}: ${err?.message ?? String(error)}`, { cause: error });
  }
}

const NO_SPACE_CODES = new Set(['ENOSPC', 'EDQUOT']);
const NO_SPACE_TEXT = /\bENOSPC\b|\bEDQUOT\b|no space left on device|disk quota exceeded|database or disk is full|SQLITE_FULL/i;

/**
 * Whether a full disk is behind an error: its code or that of any cause, or
 * (for errors that reach us only as text, from a database engine or a child
 * process) its message.
 */
export function isNoSpace(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (NO_SPACE_CODES.has((e as NodeJS.ErrnoException).code ?? '')) return true;
    if (NO_SPACE_TEXT.test((e as Error).message ?? '')) return true;
  }
  return false;
}

/** What a password was needed for: the message names it, the hint lists only the sources that apply. */
export type PasswordPurpose = 'create' | 'read' | 'key-export' | 'key-import' | 'password-set';

const PURPOSE_MESSAGES: Record<PasswordPurpose, string> = {
  create: 'An encrypted backup needs a password and none was given.',
  read: 'This backup is encrypted and no password was given.',
  'key-export': 'Exporting the master key needs a password and none was given.',
  'key-import': 'Importing the master key needs a password and none was given.',
  'password-set': 'Storing the backup password needs a password and none was given.',
};

/** The one PASSWORD_REQUIRED for "no source gave a password", wherever that is found out (engine, CLI). */
export function passwordRequired(purpose: PasswordPurpose): AicoError {
  // The stored password is used for backups only: a key file or the stored password itself is never sealed with it.
  const stored = purpose === 'create' || purpose === 'read' ? ', store one with "aico backup password set"' : '';
  const noEncrypt = purpose === 'create' ? ', or pass --no-encrypt' : '';
  return new AicoError('PASSWORD_REQUIRED', PURPOSE_MESSAGES[purpose], {
    hint: `Use --password-file FILE, --password-stdin or $AICO_BACKUP_PASSWORD${stored}, or run on a terminal to be asked${noEncrypt}.`,
  });
}

export function cancelledError(): AicoError {
  return new AicoError('CANCELLED', 'Cancelled; nothing was written under a final name.');
}

/** Throws the cancellation error if the signal fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelledError();
}
