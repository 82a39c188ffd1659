import type { ArchiveFile } from '../archive/reader.js';
import type { DirLock } from '../fsutil/lock.js';

export interface PutOptions {
  signal?: AbortSignal;
  /** Bytes stored so far. */
  onProgress?: (done: number) => void;
  /** A bucket: an earlier run's upload of this file goes on, `sent` of `parts` parts were already there. */
  onResume?: (sent: number, parts: number) => void;
}

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
  /** The names list() has, without their sizes: a directory listing without a stat per file. */
  names(signal?: AbortSignal): Promise<string[]>;
  head(name: string): Promise<StoredBackup | null>;
  open(name: string): Promise<ArchiveFile>;
  /** The whole archive, as a stream of chunks. */
  stream(name: string, signal?: AbortSignal): Promise<AsyncIterable<Buffer>>;
  /**
   * Stores a finished local archive under `name`; it appears under that name
   * only when complete and durable. A name already taken is an error: archives
   * are never overwritten.
   */
  put(file: string, name: string, opts?: PutOptions): Promise<void>;
  /** As put, from a stream (a copy out of another store). */
  receive(name: string, chunks: AsyncIterable<Buffer>, opts?: PutOptions): Promise<void>;
  remove(name: string): Promise<void>;
  /** One writer at a time (create, delete, cleanup, sync into it). */
  lock(op: string): Promise<DirLock>;
}
