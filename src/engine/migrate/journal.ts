import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, replaceFile } from '../fsutil/atomic-file.js';
import { stateDir } from '../restore/audit.js';

/** The steps of a migration, in order; the journal names the last one finished. */
export const STEPS = ['preflight', 'backup', 'init', 'mount', 'copy', 'verify', 'fsck', 'swap', 'done'] as const;
export type Step = (typeof STEPS)[number];

export interface MigrationJournal {
  version: 1;
  home: string;
  cipher_dir: string;
  /** The temporary mount point the copy is made through (beside the cipher directory). */
  staging_mount: string;
  /** Where the plaintext home was renamed at the swap; null before it, and after finalize. */
  plaintext: string | null;
  /** The verified full backup made first; null when the user turned it off. */
  backup: string | null;
  step: Step;
  started: string;
  updated: string;
  /** Whether the gocryptfs password and master key went into the keyring. */
  keyring: boolean;
}

/**
 * The journal lives outside both the home and the cipher directory (the home
 * is renamed, the cipher directory must start empty): in the user's state
 * directory, one per home.
 */
export function journalFile(home: string, env: NodeJS.ProcessEnv = process.env): string {
  const id = createHash('sha256').update(path.resolve(home)).digest('hex').slice(0, 12);
  return path.join(stateDir(env), `migrate-${id}.json`);
}

export async function readJournal(home: string, env?: NodeJS.ProcessEnv): Promise<MigrationJournal | null> {
  try {
    return JSON.parse(await fs.readFile(journalFile(home, env), 'utf8')) as MigrationJournal;
  } catch {
    return null;
  }
}

export async function writeJournal(j: MigrationJournal, env?: NodeJS.ProcessEnv): Promise<void> {
  const file = journalFile(j.home, env);
  await ensurePrivateDir(path.dirname(file));
  await replaceFile(file, `${JSON.stringify({ ...j, updated: new Date().toISOString() }, null, 2)}\n`);
}

export async function removeJournal(home: string, env?: NodeJS.ProcessEnv): Promise<void> {
  await fs.rm(journalFile(home, env), { force: true });
}

export const reached = (j: MigrationJournal | null, step: Step) => j !== null && STEPS.indexOf(j.step) >= STEPS.indexOf(step);
