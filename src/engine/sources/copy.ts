import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { fromFsError } from '../errors.js';
import type { SourceSnapshot } from './types.js';

type SnapshotFile = SourceSnapshot['files'][number];

/** Copies one file into staging (copy_file_range where the kernel offers it) and describes the copy. */
export async function stageFile(src: string, staging: string, relPath: string): Promise<SnapshotFile> {
  const dest = path.join(staging, ...relPath.split('/'));
  await fs.mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
  try {
    await fs.copyFile(src, dest, constants.COPYFILE_EXCL);
  } catch (error) {
    throw fromFsError(error, src);
  }
  const [stat, orig] = await Promise.all([fs.stat(dest), fs.stat(src)]);
  return { absPath: dest, relPath, size: stat.size, mode: orig.mode, mtime: orig.mtime };
}

/** Regular files under `dir`, as posix paths relative to it; symlinks and special files are left out. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string, rel: string): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch (error) {
      throw fromFsError(error, d);
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path.join(d, e.name), r);
      else if (e.isFile()) out.push(r);
    }
  }
  await walk(dir, '');
  return out;
}
