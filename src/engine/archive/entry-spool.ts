import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { fromFsError, throwIfAborted } from '../errors.js';
import type { PlannedFile, ProducedEntry } from './writer.js';

let serial = 0;

/**
 * Runs a produced entry to completion into a file of its own, so the writer
 * can treat it as a planned file whose size is now known (a tar header needs
 * the size before the data).
 *
 * Why a spool and not "compute first, then stream": producing twice reads the
 * source twice, and a source read in place (config, extras) can change
 * between the two passes, so the declared size and the bytes would disagree.
 * One pass into a file keeps memory flat (chunks go to disk as they come)
 * and costs one extra write and read of the produced bytes only; a delta is
 * small by nature, and full backups never come here.
 */
export async function spoolEntry(entry: ProducedEntry, dir: string, signal?: AbortSignal): Promise<PlannedFile & { remove(): Promise<void> }> {
  const file = path.join(dir, `entry-${process.pid}-${++serial}.spool`);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (error) {
    throw fromFsError(error, file);
  }
  const remove = () => fs.rm(file, { force: true });
  let size = 0;
  try {
    for await (const chunk of entry.produce(signal)) {
      throwIfAborted(signal);
      try {
        await handle.write(chunk, 0, chunk.length, size);
      } catch (error) {
        throw fromFsError(error, file);
      }
      size += chunk.length;
    }
    throwIfAborted(signal);
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => {});
    await remove();
    throw error;
  }
  return { source: entry.source, absPath: file, archivePath: entry.archivePath, size, mode: entry.mode, mtime: entry.mtime, remove };
}
