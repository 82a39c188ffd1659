import type { ParentLink } from '../archive/metadata.js';
import type { DeltaFile, PlannedFile } from '../archive/writer.js';
import type { WarningCode } from '../codes.js';
import { AicoError } from '../errors.js';

export type BackupType = 'full' | 'incremental' | 'differential';
/** What create may be asked for: a type, or "auto" (incremental when there is a parent to build on, else full). */
export type RequestedType = BackupType | 'auto';
export const BACKUP_TYPES: readonly RequestedType[] = ['full', 'incremental', 'differential', 'auto'];

export interface DeltaRequest {
  type: Exclude<BackupType, 'full'>;
  /** The archive (path or id) to build on, as given; null leaves the choice to the producer. */
  parent: string | null;
  outputDir: string;
  /** The backup's password, for a parent that is encrypted; null for an unencrypted backup. */
  password: Buffer | null;
  /** The time given for the new backup (create --time): a parent must be older. */
  before?: string;
  /** The home being backed up: a parent must be a backup of the same home. */
  home: string;
  /** metadata.master_key.fingerprint of this backup; a parent made with another master key is refused. */
  fingerprint?: string;
  /** Longest chain (links down to the full backup) an incremental may make; default 14. */
  maxChain?: number;
  warn?: (code: WarningCode, message: string) => void;
  signal?: AbortSignal;
}

/** The parent of one incremental or differential backup, opened. */
export interface DeltaPlan {
  /** Recorded as parent_id. */
  parentId: string;
  /** Recorded as metadata.parent. */
  parent: ParentLink;
  /** Recorded as metadata.chain_length. */
  chainLength: number;
  /** `file` with the parent's block hashes of the same path, for the writer to compare. */
  entryFor(file: PlannedFile): DeltaFile;
  /** Paths of the parent's files that `files` no longer has. */
  deleted(files: PlannedFile[]): string[];
  close(): Promise<void>;
}

/** Refuses a type and parent that do not go together, before anything is read or written. */
export function checkBackupType(type: RequestedType, parent: string | undefined): void {
  if (!BACKUP_TYPES.includes(type)) {
    throw new AicoError('USAGE', `Unknown backup type "${type}".`, { hint: `Backup types: ${BACKUP_TYPES.join(', ')}.` });
  }
  if (type === 'full') {
    if (parent !== undefined) {
      throw new AicoError('USAGE', `A full backup builds on no other backup, and a parent (${parent}) was given.`, {
        hint: 'Leave out the parent, or make an incremental or differential backup.',
      });
    }
  }
}
