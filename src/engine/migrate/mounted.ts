import path from 'node:path';
import { AicoError } from '../errors.js';
import { isMounted } from './gocryptfs.js';
import { reached, readJournal } from './journal.js';

/**
 * A home migrated onto gocryptfs is backed up through its mount (the
 * plaintext view: gocryptfs's ciphertext blocks would defeat page-level
 * deltas); unmounted, its path is an empty directory, and a backup of it
 * would be a backup of nothing.
 */
export async function refuseUnmountedHome(home: string, env?: NodeJS.ProcessEnv): Promise<void> {
  const j = await readJournal(path.resolve(home), env);
  if (!j || !reached(j, 'swap') || (await isMounted(path.resolve(home)))) return;
  throw new AicoError('NOT_MOUNTED', `The AICO home ${home} is encrypted with gocryptfs (${j.cipher_dir}) and not mounted, so there is nothing to back up there.`, {
    hint: 'Mount it first: aico backup migrate mount. Nothing was written.',
  });
}
