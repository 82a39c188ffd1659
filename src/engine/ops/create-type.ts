import type { ArchiveEntry, PlannedFile } from '../archive/writer.js';
import { AicoError } from '../errors.js';

export type BackupType = 'full' | 'incremental' | 'differential';
export const BACKUP_TYPES: readonly BackupType[] = ['full', 'incremental', 'differential'];

export interface DeltaRequest {
  type: Exclude<BackupType, 'full'>;
  /** The archive (path or id) to build on, as given; null leaves the choice to the producer. */
  parent: string | null;
  outputDir: string;
  /** The backup's password, for a parent that is encrypted; null for an unencrypted backup. */
  password: Buffer | null;
  signal?: AbortSignal;
}

/** The parent of one incremental or differential backup, opened. */
export interface DeltaPlan {
  /** Recorded as parent_id. */
  parentId: string;
  /** What the archive stores for `file`: its changed blocks (a produced entry), or the file itself. */
  entryFor(file: PlannedFile): ArchiveEntry;
  close(): Promise<void>;
}

/**
 * Turns files into deltas against a parent backup. create takes one for
 * every type but "full"; without it those types are refused rather than
 * written as a full backup that claims to be something else.
 */
export interface DeltaProducer {
  open(request: DeltaRequest): Promise<DeltaPlan>;
}

/** Refuses a type, parent and producer that do not go together, before anything is read or written. */
export function checkBackupType(type: BackupType, parent: string | undefined, delta: DeltaProducer | undefined): void {
  if (!BACKUP_TYPES.includes(type)) {
    throw new AicoError('USAGE', `Unknown backup type "${type}".`, { hint: `Backup types: ${BACKUP_TYPES.join(', ')}.` });
  }
  if (type === 'full') {
    if (parent !== undefined) {
      throw new AicoError('USAGE', `A full backup builds on no other backup, and a parent (${parent}) was given.`, {
        hint: 'Leave out the parent, or make an incremental or differential backup.',
      });
    }
    return;
  }
  if (!delta) {
    throw new AicoError('USAGE', `This version cannot make ${type} backups yet; it writes full backups only.`, {
      hint: 'Leave out the backup type (and parent) to make a full backup.',
    });
  }
}
