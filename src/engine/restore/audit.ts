import { promises as fs } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import path from 'node:path';

export const AUDIT_LOG = 'backup-audit.log';

export interface AuditRecord {
  archive: { path: string; id: string };
  target: string;
  units: { name: string }[];
  mode: string;
}

/** `${XDG_STATE_HOME:-~/.local/state}/aico-backup`: where the audit of a restore goes that may not touch its target. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || homedir(), '.local', 'state'), 'aico-backup');
}

/**
 * Where the line of a restore goes. A successful one is recorded in the home
 * it restored (data/logs); a refused or failed one never writes into its
 * target (a refused --target must stay as empty as it was, or the retry is
 * refused as "not empty"), so it goes to the AICO home's log when that home
 * exists and is another directory, else to the user's state directory.
 */
export async function auditLogFor(outcome: 'ok' | 'failed', target: string, home: string, env?: NodeJS.ProcessEnv): Promise<string> {
  if (outcome === 'ok') return path.join(target, 'data', 'logs', AUDIT_LOG);
  const otherHome = path.resolve(home) !== path.resolve(target) && (await fs.stat(home).then((s) => s.isDirectory(), () => false));
  return otherHome ? path.join(home, 'data', 'logs', AUDIT_LOG) : path.join(stateDir(env), AUDIT_LOG);
}

/** Appends one JSON line (file 0600, directories 0700). */
export async function appendAudit(file: string, r: AuditRecord, result: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const line = {
    time: new Date().toISOString(),
    user: userInfo().username,
    archive: path.basename(r.archive.path),
    archive_id: r.archive.id,
    target: r.target,
    databases: r.units.map((u) => u.name),
    mode: r.mode,
    result,
  };
  await fs.appendFile(file, `${JSON.stringify(line)}\n`, { mode: 0o600 });
}
