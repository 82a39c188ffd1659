/**
 * Checks a libSQL copy in a separate process. `PRAGMA integrity_check` reads
 * every page and takes seconds on a large database; the driver is
 * synchronous, so in the main process it would stop the archive pipeline
 * (and a restore's other validations) for that long. Here it runs beside
 * them. Request on stdin (the key never travels in argv), JSON on stdout.
 */
import { column, openLibsql, tableCounts } from './libsql-db.js';
import { readRequest } from '../proc/request.js';

interface Request {
  file: string;
  key: string | null;
  /** Also count rows per table. */
  counts: boolean;
}

async function main(): Promise<void> {
  const req = await readRequest<Request>();
  let reply: Record<string, unknown>;
  try {
    const db = openLibsql(req.file, req.key, { readonly: true });
    try {
      const verdicts = column(db, 'PRAGMA integrity_check').map(String);
      reply = { verdicts, ...(req.counts && verdicts.length === 1 && verdicts[0] === 'ok' ? { tables: tableCounts(db) } : {}) };
    } finally {
      db.close();
    }
  } catch (error) {
    reply = { error: (error as Error).message, code: (error as { code?: string }).code ?? null };
  }
  process.stdout.write(JSON.stringify(reply));
}

await main();
