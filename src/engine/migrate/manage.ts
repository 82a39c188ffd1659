import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError } from '../errors.js';
import { noopSink, nestedContext, type OperationContext } from '../events.js';
import { systemKeyring, type Keyring } from '../keys/keyring.js';
import type { PasswordProvider } from '../archive/reader.js';
import { restore } from '../ops/restore.js';
import { GOCRYPTFS_PASSWORD_ACCOUNT } from './encrypt.js';
import { isMounted, mountCipherDir, unmount } from './gocryptfs.js';
import { readJournal, reached, removeJournal, writeJournal, type Step } from './journal.js';

export interface MigrationStatus {
  home: string;
  state: 'not-migrated' | 'in-progress' | 'migrated';
  /** The last step finished (in progress), or "done". */
  step: Step | null;
  cipher_dir: string | null;
  /** Whether the encrypted home is mounted at the home's path. */
  mounted: boolean;
  /** The plaintext home renamed aside at the swap, and whether it is still there. */
  plaintext: { path: string; present: boolean } | null;
  backup: string | null;
}

const exists = (p: string) => fs.stat(p).then(() => true, () => false);

export async function migrationStatus(home: string, env?: NodeJS.ProcessEnv): Promise<MigrationStatus> {
  const h = path.resolve(home);
  const j = await readJournal(h, env);
  return {
    home: h,
    state: !j ? 'not-migrated' : j.step === 'done' ? 'migrated' : 'in-progress',
    step: j?.step ?? null,
    cipher_dir: j?.cipher_dir ?? null,
    mounted: await isMounted(h),
    plaintext: j?.plaintext ? { path: j.plaintext, present: await exists(j.plaintext) } : null,
    backup: j?.backup ?? null,
  };
}

/**
 * A migrated home's encrypted view, mounted at the home's path so AICO can
 * start (after a reboot): the password from the keyring, else the provider.
 */
export async function mountHome(opts: { home: string; password?: () => Promise<Buffer>; keyring?: Keyring; env?: NodeJS.ProcessEnv }): Promise<{ home: string; cipherDir: string; passwordFrom: 'keyring' | 'given' }> {
  const home = path.resolve(opts.home);
  const j = await readJournal(home, opts.env);
  if (!j || !reached(j, 'swap')) throw new AicoError('USAGE', `${home} is not encrypted with gocryptfs (no finished migration).`, { hint: 'aico backup migrate status says where it stands.' });
  if (await isMounted(home)) return { home, cipherDir: j.cipher_dir, passwordFrom: 'keyring' };
  const stored = await (opts.keyring ?? systemKeyring).get(GOCRYPTFS_PASSWORD_ACCOUNT).catch(() => null);
  const password = stored && stored.length > 0 ? stored : opts.password ? await opts.password() : null;
  if (!password) throw new AicoError('PASSWORD_REQUIRED', 'The password of the encrypted AICO home is needed to mount it, and the keyring has none.', { hint: 'Run it on a terminal to be asked, or give --password-file.' });
  try {
    await fs.mkdir(home, { recursive: true, mode: 0o700 });
    await mountCipherDir(j.cipher_dir, home, password, { env: opts.env ?? process.env });
  } finally {
    password.fill(0);
  }
  return { home, cipherDir: j.cipher_dir, passwordFrom: stored && stored.length > 0 ? 'keyring' : 'given' };
}

export async function unmountHome(opts: { home: string; env?: NodeJS.ProcessEnv }): Promise<{ home: string; wasMounted: boolean }> {
  const home = path.resolve(opts.home);
  if (!(await isMounted(home))) return { home, wasMounted: false };
  await unmount(home, { env: opts.env ?? process.env });
  return { home, wasMounted: true };
}

export interface RollbackResult {
  home: string;
  /** "plaintext": the kept plaintext home is back; "unchanged": the home was never switched; "backup": restored from the backup. */
  from: 'plaintext' | 'unchanged' | 'backup';
  /** Left untouched, for the user to remove. */
  cipherDir: string | null;
}

/**
 * Undoes a migration, finished or not: the plaintext home kept aside goes
 * back to its place (the encrypted one unmounted first); without it, the
 * named backup is restored through the normal validated restore. The cipher
 * directory is left as it is.
 */
export async function rollbackMigration(opts: { home: string; backup?: string; backupPassword?: PasswordProvider; keyring?: Keyring; env?: NodeJS.ProcessEnv }, ctx: OperationContext = {}): Promise<RollbackResult> {
  const emit = ctx.onEvent ?? noopSink;
  const env = opts.env ?? process.env;
  const home = path.resolve(opts.home);
  emit({ type: 'start', op: 'migrate', path: home });
  const j = await readJournal(home, env);
  if (!j && !opts.backup) throw new AicoError('USAGE', `No migration of ${home} is recorded, so there is nothing to roll back.`, { hint: 'To put a backup back, give it: aico backup migrate rollback --backup FILE. Nothing was changed.' });
  if (j && (await isMounted(j.staging_mount))) await unmount(j.staging_mount, { env });
  if (j && j.staging_mount) await fs.rmdir(j.staging_mount).catch(() => {});
  const aside = j?.plaintext ?? null;
  const asideThere = aside ? await exists(aside) : false;
  // Before the swap renamed it, the home is the plaintext home, untouched: nothing to put back.
  if (j && !asideThere && !(await isMounted(home)) && (await fs.readdir(home).catch(() => [])).length > 0) {
    await removeJournal(home, env);
    return { home, from: 'unchanged', cipherDir: j.cipher_dir };
  }
  if (await isMounted(home)) await unmount(home, { env });
  if (aside && asideThere) {
    // The mount point left behind is the empty directory the swap made; anything else in it is not ours to remove.
    if (await exists(home)) await fs.rmdir(home);
    await fs.rename(aside, home);
    await removeJournal(home, env);
    return { home, from: 'plaintext', cipherDir: j!.cipher_dir };
  }
  const backup = opts.backup ?? j?.backup ?? null;
  if (!backup) {
    throw new AicoError('USAGE', `The plaintext home is gone (finalized) and no backup was named, so there is nothing to roll back to.`, { hint: 'Give the backup to restore: aico backup migrate rollback --backup FILE. Nothing was changed.' });
  }
  if (await exists(home)) await fs.rmdir(home).catch(() => {});
  await restore({ path: backup, home, ...(opts.backupPassword ? { password: opts.backupPassword } : {}), safetyBackupDir: null, ...(opts.keyring ? { keyring: opts.keyring } : {}), env }, nestedContext(ctx, 'migrate', 'restore'));
  if (j) {
    j.plaintext = null;
    await removeJournal(home, env);
  }
  return { home, from: 'backup', cipherDir: j?.cipher_dir ?? null };
}

export interface FinalizeResult {
  removed: string;
  files: number;
  bytes: number;
}

/**
 * Deletes the plaintext home kept aside, overwriting every file with zeros
 * first (then fsync, unlink). Overwriting in place is what a file system
 * allows; on SSDs (wear levelling) and copy-on-write file systems (btrfs,
 * ZFS, APFS) the old blocks may survive elsewhere: only full-disk encryption
 * or a secure erase of the device is sure. The result says so.
 */
export async function finalizeMigration(opts: { home: string; env?: NodeJS.ProcessEnv }): Promise<FinalizeResult> {
  const home = path.resolve(opts.home);
  const j = await readJournal(home, opts.env);
  if (!j || j.step !== 'done') throw new AicoError('USAGE', `${home} has no finished migration to finalize.`, { hint: 'aico backup migrate status says where it stands.' });
  if (!j.plaintext || !(await exists(j.plaintext))) throw new AicoError('NOT_FOUND', 'The plaintext copy is already gone.');
  const target = j.plaintext;
  let files = 0;
  let bytes = 0;
  const zeros = Buffer.alloc(1 << 20);
  const wipe = async (dir: string): Promise<void> => {
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await wipe(p);
      else if (e.isFile()) {
        const size = (await fs.stat(p)).size;
        const handle = await fs.open(p, 'r+');
        try {
          for (let at = 0; at < size; at += zeros.length) await handle.write(zeros, 0, Math.min(zeros.length, size - at), at);
          await handle.sync();
        } finally {
          await handle.close();
        }
        files++;
        bytes += size;
      }
      await fs.rm(p, { recursive: true, force: true });
    }
  };
  await wipe(target);
  await fs.rmdir(target);
  j.plaintext = null;
  await writeJournal(j, opts.env);
  return { removed: target, files, bytes };
}

