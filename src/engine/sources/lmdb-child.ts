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

const MAX_DBS = 64;
/**
 * Bytes read through the map before the env is closed and opened again.
 * Every page read stays resident in this process (the map is file-backed), so
 * reading a whole data.mdb made this process as large as the file (277 MiB
 * for a 213 MiB working store, the largest process of a create, growing with
 * the home). Closing unmaps them. Measured on the 1000 MiB bench home's
 * 213 MiB store (511,805 entries): peak 278 -> 94 MiB, 0.91 -> 1.25 s.
 */
const RESIDENT_BUDGET = 16 << 20;

async function main(): Promise<void> {
  const parts: Buffer[] = [];
  for await (const part of process.stdin) parts.push(part as Buffer);
  // residentBudget: tests set a small one to read a small store in many rounds.
  // countOnly: the entries the env records (its b-tree headers), without reading them: the count a
  // snapshot puts in metadata at once, while the full read runs beside the archive writer.
  const req = JSON.parse(Buffer.concat(parts).toString('utf8')) as { path: string; residentBudget?: number; countOnly?: boolean };
  const budget = req.residentBudget ?? RESIDENT_BUDGET;
  const binary = { encoding: 'binary', keyEncoding: 'binary' } as const;
  const openEnv = (): RootDatabase => open({ path: req.path, readOnly: true, maxDbs: MAX_DBS, ...binary });
  /** The named database `name`, or undefined when that key of the main database is a plain entry. */
  const subDatabase = (name: string) => {
    try {
      return env.openDB({ name, create: false, ...binary } as never) ?? undefined;
    } catch (error) {
      if (/MDB_INCOMPATIBLE/.test((error as Error).message)) return undefined;
      throw error;
    }
  };
  let env = openEnv();
  let resident = 0;
  let rounds = 1;
  /** Counts bytes read; past the budget, drops the mapped pages by reopening the env (the caller holds no cursor). */
  const reopenIfLarge = async () => {
    if (resident < budget) return;
    resident = 0;
    rounds++;
    await env.close();
    env = openEnv();
  };
  try {
    // Keys first: opening a sub-database while iterating the main one crashes lmdb-js.
    const keys = [...env.getKeys()].map((k) => Buffer.from(k as Uint8Array));
    let stated = 0;
    let entries = 0;
    const databases: Record<string, number> = {};
    for (const key of keys) {
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
        await reopenIfLarge();
        continue;
      }
      stated += (sub.getStats() as { entryCount: number }).entryCount;
      let n = 0;
      // Read in rounds of `budget` bytes; each round resumes after the last key of the one before.
      let after: Buffer | undefined;
      for (;;) {
        const db = after === undefined ? sub : env.openDB({ name, create: false, ...binary } as never)!;
        let more = false;
        let resumed = after !== undefined;
        for (const { key: k, value } of db.getRange(after === undefined ? {} : { start: after })) {
          const kb = k as Uint8Array;
          if (resumed) {
            resumed = false;
            // The range starts at the last key already counted (start is inclusive).
            if (Buffer.compare(kb, after!) === 0) continue;
          }
          resident += kb.length + (value as Uint8Array).length;
          n++;
          if (resident >= budget) {
            after = Buffer.from(kb);
            more = true;
            break;
          }
        }
        if (!more) break;
        await reopenIfLarge();
      }
      databases[name] = n;
      entries += n;
    }
    if (req.countOnly) process.stdout.write(JSON.stringify({ ok: true, stated }));
    else process.stdout.write(JSON.stringify({ ok: entries === stated, entries, stated, databases, rounds }));
  } finally {
    await env.close();
  }
}

main().catch((error) => {
  let message = (error as Error)?.message ?? String(error);
  if (/MDB_VERSION_MISMATCH|MDB_INVALID/.test(message)) {
    // LMDB 0.9 finds no format-1 meta page: damage, or LMDB's development data format (2), which
    // aico-backup 0.1 wrote for sample homes with lmdb-js's prebuilt LMDB (0.9 reports MDB_INVALID for it).
    message = `${message} (not in the format AICO writes, LMDB 0.9's: damaged, or in LMDB's development data format 2, which aico-backup 0.1 wrote for sample homes)`;
  }
  process.stdout.write(JSON.stringify({ ok: false, error: message }));
});
