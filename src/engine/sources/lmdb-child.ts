/**
 * Opens an LMDB copy in a separate process: LMDB maps the file into memory
 * and trusts its pages, so a truncated or overwritten copy can kill the
 * process with SIGBUS or SIGSEGV instead of throwing (and so does an
 * encrypted env opened without its key). The parent turns a crash into a
 * validation problem. Request on stdin, JSON result on stdout.
 *
 * AICO keeps working memory in named databases (session_memory,
 * user_sessions); their names are keys of the main database, so every key
 * there is either a plain entry or a sub-database whose entries are counted.
 */
import { open } from 'lmdb';

const MAX_DBS = 64;

async function main(): Promise<void> {
  const parts: Buffer[] = [];
  for await (const part of process.stdin) parts.push(part as Buffer);
  const req = JSON.parse(Buffer.concat(parts).toString('utf8')) as { path: string; key: string | null };
  const binary = { encoding: 'binary', keyEncoding: 'binary' } as const;
  const env = open({ path: req.path, readOnly: true, maxDbs: MAX_DBS, ...binary, ...(req.key ? { encryptionKey: req.key } : {}) });
  try {
    // Keys first: opening a sub-database while iterating the main one crashes lmdb-js.
    const keys = [...env.getKeys()].map((k) => Buffer.from(k as Uint8Array));
    let stated = 0;
    let entries = 0;
    const databases: Record<string, number> = {};
    for (const key of keys) {
      const name = key.toString('utf8').replace(/\0$/, '');
      const sub = env.openDB({ name, create: false, ...binary } as never);
      if (!sub) {
        stated++;
        // Reading every value touches every page, which is what finds damage.
        void env.getBinary(key);
        entries++;
        continue;
      }
      stated += (sub.getStats() as { entryCount: number }).entryCount;
      let n = 0;
      for (const { value } of sub.getRange()) {
        void value;
        n++;
      }
      databases[name] = n;
      entries += n;
    }
    process.stdout.write(JSON.stringify({ ok: entries === stated, entries, stated, databases }));
  } finally {
    await env.close();
  }
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ ok: false, error: (error as Error)?.message ?? String(error) }));
});
