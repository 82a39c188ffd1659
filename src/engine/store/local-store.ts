import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isArchiveName } from '../archive/naming.js';
import type { ArchiveFile } from '../archive/reader.js';
import { AicoError, fromFsError } from '../errors.js';
import { syncDir } from '../fsutil/atomic-file.js';
import { acquireDirLock, type DirLock } from '../fsutil/lock.js';
import type { BackupStore, StoredBackup } from './types.js';

/** Backups in a local directory (or a mounted external drive). */
export class LocalStore implements BackupStore {
  readonly remote = false;
  readonly location: string;

  constructor(dir: string) {
    this.location = path.resolve(dir);
  }

  async list(): Promise<StoredBackup[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.location);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new AicoError('IO_ERROR', `Cannot read ${this.location}: ${(error as Error).message}`);
    }
    const found = await Promise.all(names.filter(isArchiveName).map((n) => this.head(n)));
    return found.filter((b): b is StoredBackup => b !== null);
  }

  async head(name: string): Promise<StoredBackup | null> {
    const st = await fs.stat(path.join(this.location, name)).catch(() => null);
    return st?.isFile() ? { name, bytes: st.size, modified: st.mtime } : null;
  }

  async open(name: string): Promise<ArchiveFile> {
    return openLocal(path.join(this.location, name));
  }

  async remove(name: string): Promise<void> {
    await fs.unlink(path.join(this.location, name)).catch((error) => {
      throw fromFsError(error, path.join(this.location, name));
    });
    await syncDir(this.location);
  }

  lock(op: string): Promise<DirLock> {
    return acquireDirLock(this.location, op);
  }
}

export async function openLocal(file: string): Promise<ArchiveFile> {
  return fs.open(file, 'r');
}
