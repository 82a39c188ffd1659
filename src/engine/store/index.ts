import type { ArchiveFile } from '../archive/reader.js';
import { isRemote, splitLocation } from './location.js';
import { LocalStore, openLocal } from './local-store.js';
import { S3Store } from './s3-store.js';
import type { BackupStore } from './types.js';

export { isRemote, joinLocation, nameOf, resolveLocation, splitLocation } from './location.js';
export type { BackupStore, StoredBackup } from './types.js';
export { LocalStore } from './local-store.js';
export { S3Store } from './s3-store.js';

/** The store behind a directory path or an s3:// URL. */
export function storeFor(location: string, env: NodeJS.ProcessEnv = process.env): BackupStore {
  return isRemote(location) ? new S3Store(location, env) : new LocalStore(location);
}

/** An archive by its location (a file path, or an s3:// URL of the object), opened for the reader. */
export async function openArchiveFile(location: string): Promise<ArchiveFile> {
  if (!isRemote(location)) return openLocal(location);
  const { dir, name } = splitLocation(location);
  return new S3Store(dir).open(name);
}
