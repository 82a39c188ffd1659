/**
 * Opens an LMDB copy in a separate process: LMDB maps the file into memory
 * and trusts its pages, so a truncated or overwritten copy can kill the
 * process with SIGBUS or SIGSEGV instead of throwing (and so does an
 * encrypted env opened without its key). The parent turns a crash into a
 * validation problem. Request on stdin, JSON result on stdout.
 */
import { open } from 'lmdb';

async function main(): Promise<void> {
  const parts: Buffer[] = [];
  for await (const part of process.stdin) parts.push(part as Buffer);
  const req = JSON.parse(Buffer.concat(parts).toString('utf8')) as { path: string; key: string | null };
  const db = open({ path: req.path, readOnly: true, ...(req.key ? { encryptionKey: req.key } : {}) });
  try {
    const stated = (db.getStats() as { entryCount: number }).entryCount;
    let entries = 0;
    // Reading every value touches every page, which is what finds damage.
    for (const { value } of db.getRange()) {
      void value;
      entries++;
    }
    process.stdout.write(JSON.stringify({ ok: entries === stated, entries, stated }));
  } finally {
    await db.close();
  }
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ ok: false, error: (error as Error)?.message ?? String(error) }));
});
