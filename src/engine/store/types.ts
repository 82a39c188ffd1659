import type { ArchiveFile } from '../archive/reader.js';
import type { DirLock } from '../fsutil/lock.js';

export interface StoredBackup {
  name: string;
  bytes: number;
  modified: Date;
}

/**
 * Everything that touches a place backups are kept: a local directory
 * (LocalStore) or a bucket prefix (S3Store). Archives in a store are
 * immutable: put once under their final name, read by ranges, deleted.
 */
export interface BackupStore {
  /** The directory path or s3:// URL, as the user wrote it (made absolute). */
  readonly location: string;
  readonly remote: boolean;
  /** Finished archives only (no partial files, no uploads in progress), in no particular order. */
  list(signal?: AbortSignal): Promise<StoredBackup[]>;
  head(name: string): Promise<StoredBackup | null>;
  open(name: string): Promise<ArchiveFile>;
  remove(name: string): Promise<void>;
  /** One writer at a time (create, delete, cleanup, sync into it). */
  lock(op: string): Promise<DirLock>;
}
