import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isArchiveName } from '../archive/naming.js';
import type { ArchiveFile } from '../archive/reader.js';
import { AicoError, fromFsError, throwIfAborted } from '../errors.js';
import { AtomicFile, ensurePrivateDir, syncDir } from '../fsutil/atomic-file.js';
import { acquireDirLock, type DirLock } from '../fsutil/lock.js';
import type { BackupStore, PutOptions, StoredBackup } from './types.js';

/** Backups in a local directory (or a mounted external drive). */
export class LocalStore implements BackupStore {
  readonly remote = false;
  readonly location: string;

  constructor(dir: string) {
    this.location = path.resolve(dir);
  }

  async names(): Promise<string[]> {
    try {
      return (await fs.readdir(this.location)).filter(isArchiveName);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new AicoError('IO_ERROR', `Cannot read ${this.location}: ${(error as Error).message}`);
    }
  }

  async list(): Promise<StoredBackup[]> {
    const found = await Promise.all((await this.names()).map((n) => this.head(n)));
    return found.filter((b): b is StoredBackup => b !== null);
  }

  async head(name: string): Promise<StoredBackup | null> {
    const st = await fs.stat(path.join(this.location, name)).catch(() => null);
    return st?.isFile() ? { name, bytes: st.size, modified: st.mtime } : null;
  }

  async open(name: string): Promise<ArchiveFile> {
    return openLocal(path.join(this.location, name));
  }

  async stream(name: string, signal?: AbortSignal): Promise<AsyncIterable<Buffer>> {
    const handle = await fs.open(path.join(this.location, name), 'r').catch((error) => {
      throw fromFsError(error, path.join(this.location, name));
    });
    return handle.createReadStream({ highWaterMark: 1 << 20, ...(signal ? { signal } : {}) });
  }

  async put(file: string, name: string, opts: PutOptions = {}): Promise<void> {
    const handle = await fs.open(file, 'r').catch((error) => {
      throw fromFsError(error, file);
    });
    await this.receive(name, handle.createReadStream({ highWaterMark: 1 << 20 }), opts);
  }

  /** Written as create writes an archive (AtomicFile): a partial file, fsynced, linked to its name (never over another), the directory fsynced. */
  async receive(name: string, chunks: AsyncIterable<Buffer>, opts: PutOptions = {}): Promise<void> {
    await ensurePrivateDir(this.location);
    const out = await AtomicFile.create(path.join(this.location, name));
    try {
      let done = 0;
      for await (const chunk of chunks) {
        throwIfAborted(opts.signal);
        await out.write(chunk);
        opts.onProgress?.((done += chunk.length));
      }
      await out.commit();
    } catch (error) {
      await out.abort();
      throw error;
    }
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
