import { promises as fs } from 'node:fs';
import path from 'node:path';

export const NAME_PREFIX = 'aico-backup-';
/** aico-backup-YYYYMMDD-HHMMSS[-N][-label].tar[.zst|.gz|.lz4][.enc]; the label marks e.g. a pre-restore safety backup. */
const NAME_RE = /^aico-backup-(\d{8})-(\d{6})(?:-(\d+))?(?:-([a-z][a-z-]*))?\.tar(\.zst|\.gz|\.lz4)?(\.enc)?$/;

function stamp(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}-${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
}

export function archiveName(created: Date, extension: string, encrypted: boolean, seq = 1, label?: string): string {
  const suffix = (seq > 1 ? `-${seq}` : '') + (label ? `-${label}` : '');
  return `${NAME_PREFIX}${stamp(created)}${suffix}.tar${extension}${encrypted ? '.enc' : ''}`;
}

/** What AtomicFile and the block spool append to NAME while writing it: `.<pid>.partial`, `.<pid>.blocks.partial`. */
const PARTIAL_OF_NAME_RE = /^\.\d+\.(?:[a-z]+\.)?partial$/;

/**
 * First name in dir that exists neither as a backup nor as someone's partial
 * file for that exact name (another writer would win the final link). Only the
 * exact name counts: `X.tar.gz` must not push `X.tar` to `X-2.tar`.
 */
export async function freeArchivePath(dir: string, created: Date, extension: string, encrypted: boolean, label?: string): Promise<string> {
  const taken = await fs.readdir(dir).catch(() => [] as string[]);
  for (let seq = 1; ; seq++) {
    const name = archiveName(created, extension, encrypted, seq, label);
    const collides = (t: string) => t === name || (t.startsWith(name) && PARTIAL_OF_NAME_RE.test(t.slice(name.length)));
    if (!taken.some(collides)) return path.join(dir, name);
  }
}

export function isArchiveName(name: string): boolean {
  return NAME_RE.test(name);
}

/** Newest first by what create puts in the name: the time, then the sequence number of backups made within one second. */
export function newestNameFirst(a: string, b: string): number {
  const key = (n: string) => {
    const m = NAME_RE.exec(n);
    return m ? `${m[1]}${m[2]}${(m[3] ?? '1').padStart(6, '0')}` : '';
  };
  return key(b).localeCompare(key(a)) || b.localeCompare(a);
}

/** The same archive name with sequence number `seq` (1: none), e.g. for a copy into a place that has the name taken. */
export function renumbered(name: string, seq: number): string {
  const m = NAME_RE.exec(name);
  if (!m) return name;
  return `${NAME_PREFIX}${m[1]}-${m[2]}${seq > 1 ? `-${seq}` : ''}${m[4] ? `-${m[4]}` : ''}.tar${m[5] ?? ''}${m[6] ?? ''}`;
}
