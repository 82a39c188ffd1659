import { closeSync, constants, fstatSync, openSync, readSync, promises as fs } from 'node:fs';
import { loadLmdb } from './lmdb-native.js';

/**
 * A plain env's consistent copy, made the way LMDB's own non-compacting
 * mdb_env_copy makes it, but with the kernel copying the file
 * (copy_file_range) instead of this process writing it out of its map: every
 * page mdb_env_copy read stayed resident here, so the create's main process
 * grew to the size of the store (298 MiB peak RSS on the 1000 MiB bench
 * home's 213 MiB store). As in mdb_env_copy: a read transaction is begun
 * first and held to the end, so no page reachable from it or from any later
 * commit can be reused by a writer while the file is copied; the two meta
 * pages are read under the write lock (so no commit is rewriting them), and
 * those, not the ones the copy saw later, go into the copy, which is cut to
 * the file's length at that moment (every page they reach lies below it).
 * Writers wait only for the two-page read.
 */
async function copyUnderReadTxn(db: import('lmdb').RootDatabase, src: string, dest: string): Promise<void> {
  const txn = db.useReadTransaction();
  try {
    const pageSize = (db.getStats() as { pageSize: number }).pageSize;
    const metas = Buffer.alloc(2 * pageSize);
    let length = 0;
    db.transactionSync(() => {
      const fd = openSync(src, 'r');
      try {
        length = fstatSync(fd).size;
        if (readSync(fd, metas, 0, metas.length, 0) !== metas.length) throw new Error(`${src} is shorter than its meta pages`);
      } finally {
        closeSync(fd);
      }
    });
    await fs.copyFile(src, dest, constants.COPYFILE_EXCL);
    const out = await fs.open(dest, 'r+');
    try {
      await out.truncate(length);
      await out.write(metas, 0, metas.length, 0);
    } finally {
      await out.close();
    }
  } finally {
    txn.done();
  }
}

/** Opens the live env at `location` and copies it to `dest` (see copyUnderReadTxn). */
export async function copyEnv(location: string, dest: string): Promise<void> {
  const { open } = await loadLmdb();
  const db = open({ path: location });
  try {
    await copyUnderReadTxn(db, `${location}/data.mdb`, dest);
  } finally {
    await db.close();
  }
}
