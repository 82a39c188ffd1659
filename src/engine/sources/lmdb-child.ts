/**
 * Opens an LMDB copy in a separate process: LMDB maps the file into memory
 * and trusts its pages, so a truncated or overwritten copy can kill the
 * process with SIGBUS or SIGSEGV instead of throwing (and so does an
 * encrypted env opened without its key). The parent turns a crash into a
 * validation problem. Request on stdin, JSON result on stdout.
 *
 * The parent has checked that lmdb loads LMDB 0.9 (lmdb-native.ts), AICO's
 * LMDB: data format 1. A file in LMDB's development format (2), which
 * aico-backup 0.1 wrote with lmdb-js's prebuilt LMDB, is refused as not
 * an LMDB file (MDB_INVALID), and the problem says it may be that.
 *
 * AICO keeps working memory in named databases (session_memory,
 * user_sessions); their names are keys of the main database, so every key
 * there is either a plain entry or a sub-database whose entries are counted
 * (LMDB 0.9 refuses to open a plain entry as a database: MDB_INCOMPATIBLE).
 */
import { open, type RootDatabase } from 'lmdb';
import { readRequest } from '../proc/request.js';

const MAX_DBS = 64;
/**
 * Bytes one child reads through the map before it stops and says where the
 * next one resumes. Every page read stays resident in the process that read
 * it (the map is file-backed), so one process reading a whole data.mdb grew
 * to the size of the file (277 MiB for the 1000 MiB bench home's 213 MiB
 * store, the largest process of a create, growing with the home). Closing
 * the env would unmap them, but lmdb-js built with LMDB 0.9 keeps the env
 * mapped after close(); a process's exit always unmaps. lmdb.ts runs one
 * child after another until the store is read.
 */
const RESIDENT_BUDGET = 32 << 20;

interface Request {
  path: string;
  /** The entries the env records (its b-tree headers), without reading them (what a snapshot puts in metadata). */
  countOnly?: boolean;
  /** Bytes to read before handing over; tests set a small one. */
  residentBudget?: number;
  /** Where the previous child stopped: the main database's key index, and the last key read in that sub-database. */
  resume?: { index: number; after?: string };
}

async function main(): Promise<void> {
  const req = await readRequest<Request>();
  const budget = req.residentBudget ?? RESIDENT_BUDGET;
  const binary = { encoding: 'binary', keyEncoding: 'binary' } as const;
  const env: RootDatabase = open({ path: req.path, readOnly: true, maxDbs: MAX_DBS, ...binary });
  /** The named database `name`, or undefined when that key of the main database is a plain entry. */
  const subDatabase = (name: string) => {
    try {
      return env.openDB({ name, create: false, ...binary } as never) ?? undefined;
    } catch (error) {
      if (/MDB_INCOMPATIBLE/.test((error as Error).message)) return undefined;
      throw error;
    }
  };
  // Keys first: opening a sub-database while iterating the main one crashes lmdb-js.
  const keys = [...env.getKeys()].map((k) => Buffer.from(k as Uint8Array));
  let stated = 0;
  let entries = 0;
  let resident = 0;
  const databases: Record<string, number> = {};
  const reply = (resume?: { index: number; after?: string }): void => {
    process.stdout.write(JSON.stringify({ entries, stated, databases, ...(resume ? { resume } : {}) }));
  };
  for (let index = req.resume?.index ?? 0; index < keys.length; index++) {
    const key = keys[index]!;
    const name = key.toString('utf8').replace(/\0$/, '');
    const sub = subDatabase(name);
    if (req.countOnly) {
      stated += sub ? (sub.getStats() as { entryCount: number }).entryCount : 1;
      continue;
    }
    if (!sub) {
      stated++;
      // Reading every value touches every page, which is what finds damage.
      resident += key.length + (env.getBinary(key)?.length ?? 0);
      entries++;
      if (resident >= budget && index + 1 < keys.length) return reply({ index: index + 1 });
      continue;
    }
    const after = index === req.resume?.index && req.resume.after !== undefined ? Buffer.from(req.resume.after, 'base64') : undefined;
    // A sub-database's stated count is taken by the child that starts it, once.
    if (after === undefined) stated += (sub.getStats() as { entryCount: number }).entryCount;
    let n = 0;
    for (const { key: k, value } of sub.getRange(after === undefined ? {} : { start: after })) {
      const kb = k as Uint8Array;
      // The range starts at the last key already counted (start is inclusive).
      if (n === 0 && after !== undefined && Buffer.compare(kb, after) === 0) continue;
      resident += kb.length + (value as Uint8Array).length;
      n++;
      if (resident >= budget) {
        databases[name] = n;
        entries += n;
        return reply({ index, after: Buffer.from(kb).toString('base64') });
      }
    }
    databases[name] = n;
    entries += n;
  }
  if (req.countOnly) process.stdout.write(JSON.stringify({ ok: true, stated }));
  else reply();
}

main().then(() => process.exit(0), (error) => {
  let message = (error as Error)?.message ?? String(error);
  if (/MDB_VERSION_MISMATCH|MDB_INVALID/.test(message)) {
    // LMDB 0.9 finds no format-1 meta page: damage, or LMDB's development data format (2), which
    // aico-backup 0.1 wrote for sample homes with lmdb-js's prebuilt LMDB (0.9 reports MDB_INVALID for it).
    message = `${message} (not in the format AICO writes, LMDB 0.9's: damaged, or in LMDB's development data format 2, which aico-backup 0.1 wrote for sample homes)`;
  }
  process.stdout.write(JSON.stringify({ ok: false, error: message }));
  process.exit(0);
});
