import { promises as fs } from 'node:fs';
import path from 'node:path';

export const NAME_PREFIX = 'aico-backup-';
const NAME_RE = /^aico-backup-(\d{8})-(\d{6})(?:-(\d+))?\.tar(\.zst|\.gz|\.lz4)?(\.enc)?$/;

function stamp(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}-${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
}

export function archiveName(created: Date, extension: string, encrypted: boolean, seq = 1): string {
  const suffix = seq > 1 ? `-${seq}` : '';
  return `${NAME_PREFIX}${stamp(created)}${suffix}.tar${extension}${encrypted ? '.enc' : ''}`;
}

/** First name in dir that exists neither as a backup nor as someone's partial file. */
export async function freeArchivePath(dir: string, created: Date, extension: string, encrypted: boolean): Promise<string> {
  const taken = new Set(await fs.readdir(dir).catch(() => [] as string[]));
  for (let seq = 1; ; seq++) {
    const name = archiveName(created, extension, encrypted, seq);
    if (!taken.has(name) && ![...taken].some((t) => t.startsWith(`${name}.`))) return path.join(dir, name);
  }
}

export function isArchiveName(name: string): boolean {
  return NAME_RE.test(name);
}
