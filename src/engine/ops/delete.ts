import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isArchiveName } from '../archive/naming.js';
import { AicoError, fromFsError } from '../errors.js';
import { syncDir } from '../fsutil/atomic-file.js';
import { acquireDirLock } from '../fsutil/lock.js';

/**
 * Deletes one backup archive. Only files named like backups are deleted, so
 * a slip of the finger cannot remove anything else; the directory lock keeps
 * it from racing a create or a cleanup in the same directory.
 */
export async function deleteBackup(opts: { path: string }): Promise<{ path: string; bytes: number }> {
  const file = path.resolve(opts.path);
  if (!isArchiveName(path.basename(file))) {
    throw new AicoError('USAGE', `${file} is not named like an aico-backup archive; refusing to delete it.`);
  }
  const stat = await fs.lstat(file).catch((error) => {
    throw fromFsError(error, file);
  });
  if (!stat.isFile()) throw new AicoError('USAGE', `${file} is not a regular file; refusing to delete it.`);
  const lock = await acquireDirLock(path.dirname(file), 'delete');
  try {
    await fs.unlink(file).catch((error) => {
      throw fromFsError(error, file);
    });
    await syncDir(path.dirname(file)).catch(() => {});
  } finally {
    await lock.release();
  }
  return { path: file, bytes: stat.size };
}
