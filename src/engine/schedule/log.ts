import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir } from '../fsutil/atomic-file.js';

/** data/logs/backup.log of the home: one line per scheduled run, readable by its owner only. */
export const backupLogFile = (home: string) => path.join(home, 'data', 'logs', 'backup.log');

const quote = (v: string) => (/^[\w./:+-]*$/.test(v) ? v : JSON.stringify(v));

/** Appends `time key=value ...` (values with spaces quoted as JSON strings), so the log greps and parses. */
export async function appendBackupLog(home: string, at: Date, fields: Record<string, string | number | null | undefined>): Promise<void> {
  const file = backupLogFile(home);
  await ensurePrivateDir(path.dirname(file));
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${quote(String(v))}`);
  const handle = await fs.open(file, 'a', 0o600);
  try {
    await handle.chmod(0o600);
    await handle.appendFile(`${at.toISOString()} ${parts.join(' ')}\n`);
  } finally {
    await handle.close();
  }
}
