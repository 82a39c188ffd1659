import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError, throwIfAborted } from '../errors.js';
import { noopSink, nestedContext, warningEvent, type OperationContext } from '../events.js';
import { maybeCrash } from '../fsutil/fault.js';
import { systemKeyring, type Keyring } from '../keys/keyring.js';
import { resolveMasterKey } from '../keys/master-key.js';
import { create, type CreateOptions } from '../ops/create.js';
import { verify } from '../ops/verify.js';
import { processesHolding } from '../sources/in-use.js';
import { compareTrees, type Comparison } from './compare.js';
import { checkTools, fsckCipherDir, initCipherDir, isMounted, mountCipherDir, unmount } from './gocryptfs.js';
import { reached, readJournal, writeJournal, type MigrationJournal, type Step } from './journal.js';

/** Keyring accounts (service AICO) for what a gocryptfs home needs after a reboot, and to recover it. */
export const GOCRYPTFS_PASSWORD_ACCOUNT = 'backup_gocryptfs_password';
export const GOCRYPTFS_MASTER_KEY_ACCOUNT = 'backup_gocryptfs_master_key';

export interface MigrateOptions {
  home: string;
  /** The gocryptfs cipher directory: new or empty. */
  cipherDir: string;
  /** The password the encrypted filesystem gets (never passed in argv). */
  fsPassword: () => Promise<Buffer>;
  /** Make and verify a full backup first (default true). */
  createBackup?: boolean;
  /** Options of that backup (output directory, password, ...), as create takes them. */
  backup?: Omit<CreateOptions, 'home'>;
  keyring?: Keyring;
  env?: NodeJS.ProcessEnv;
  /**
   * Asked once everything is copied, verified and checked, before the home is
   * switched over (the TUI's confirmation); false stops there, resumable.
   */
  beforeSwap?: () => Promise<boolean>;
}

export interface MigrateResult {
  home: string;
  cipherDir: string;
  /** Where the plaintext home now is (renamed aside on the same filesystem): delete it with migrate finalize. */
  plaintext: string;
  backup: string | null;
  /** The gocryptfs master key, shown once, when this run created the filesystem; null when it resumed after that. */
  masterKey: string | null;
  keyring: boolean;
  verified: Comparison | null;
  resumed: Step | null;
  durationMs: number;
}

/**
 * Moves the AICO home onto a gocryptfs filesystem, one journaled step at a
 * time (preflight, a verified full backup, init, mount, copy, verify through
 * the mount, unmount and fsck, swap), so a run interrupted anywhere is
 * resumed by running it again or undone by rollback. Until the swap the home
 * is only read; the swap renames it aside on its own filesystem and mounts
 * the encrypted copy where it was, so AICO finds its data where it always did.
 */
export async function migrateEncrypt(opts: MigrateOptions, ctx: OperationContext = {}): Promise<MigrateResult> {
  const started = Date.now();
  const emit = ctx.onEvent ?? noopSink;
  const env = opts.env ?? process.env;
  const keyring = opts.keyring ?? systemKeyring;
  const home = path.resolve(opts.home);
  const cipherDir = path.resolve(opts.cipherDir);
  emit({ type: 'start', op: 'migrate', path: home });
  let j = await readJournal(home, env);
  if (j?.step === 'done') throw new AicoError('USAGE', `${home} is already encrypted with gocryptfs (in ${j.cipher_dir}).`, { hint: 'aico backup migrate status shows it; migrate mount opens it after a reboot.' });
  if (j && j.cipher_dir !== cipherDir) {
    throw new AicoError('MIGRATION_INCOMPLETE', `A migration of ${home} to ${j.cipher_dir} is unfinished (after ${j.step}).`, { hint: `Finish it (aico backup migrate encrypt --output ${j.cipher_dir}) or undo it (aico backup migrate rollback).` });
  }
  const resumed = j ? j.step : null;
  const phase = (step: Step, message: string) => emit({ type: 'phase', phase: 'migrate', message: `${step}: ${message}` });
  // Checked before the password is asked for: a machine without gocryptfs or FUSE says so at once.
  if (!j) {
    phase('preflight', 'checking gocryptfs, FUSE, free space, and that AICO is not running');
    await preflight(home, cipherDir, env);
  }
  const password = await opts.fsPassword();
  try {
    if (!j) {
      j = { version: 1, home, cipher_dir: cipherDir, staging_mount: path.join(path.dirname(cipherDir), `.${path.basename(cipherDir)}.aico-mount`), plaintext: null, backup: null, step: 'preflight', started: new Date().toISOString(), updated: '', keyring: false };
      await writeJournal(j, env);
    }
    const journal: MigrationJournal = j;
    const done = async (step: Step) => {
      journal.step = step;
      await writeJournal(journal, env);
      maybeCrash(`migrate:${step}`);
    };
    if (!reached(journal, 'backup')) {
      if (opts.createBackup !== false && opts.backup) {
        phase('backup', 'a full backup first, verified before anything else happens');
        const made = await create({ ...opts.backup, home, backupType: 'full' }, nestedContext(ctx, 'migrate', 'create'));
        const v = await verify({ path: made.backup.path, ...(opts.backup.password ? { password: opts.backup.password } : {}) }, nestedContext(ctx, 'migrate', 'verify'));
        if (!v.ok) throw new AicoError('CHECKSUM_MISMATCH', `The backup made before the migration does not verify (${made.backup.path}); nothing was migrated.`, { hint: 'Check the backup disk, then run the migration again.' });
        journal.backup = made.backup.path;
      } else emit(warningEvent('NO_MIGRATION_BACKUP', 'No backup was made before the migration (--no-create-backup): the plaintext home, kept aside until migrate finalize, is the only way back.'));
      await done('backup');
    }
    let masterKey: string | null = null;
    if (!reached(journal, 'init')) {
      phase('init', `creating the encrypted filesystem in ${cipherDir}`);
      // The directory was empty at preflight: whatever is in it now is an interrupted init of ours.
      await fs.rm(cipherDir, { recursive: true, force: true });
      await fs.mkdir(cipherDir, { recursive: true, mode: 0o700 });
      masterKey = await initCipherDir(cipherDir, password, { env });
      journal.keyring = await keyring
        .set(GOCRYPTFS_PASSWORD_ACCOUNT, password)
        .then(() => keyring.set(GOCRYPTFS_MASTER_KEY_ACCOUNT, Buffer.from(masterKey!)))
        .then(() => true, () => false);
      if (!journal.keyring) emit(warningEvent('KEY_NOT_STORED', 'The keyring is not available: the gocryptfs password and master key were not stored there. Write the master key down now; it is shown once.'));
      await done('init');
    }
    if (!reached(journal, 'verify')) {
      phase('mount', `mounting it on ${journal.staging_mount}`);
      await fs.mkdir(journal.staging_mount, { recursive: true, mode: 0o700 });
      if (!(await isMounted(journal.staging_mount))) await mountCipherDir(cipherDir, journal.staging_mount, password, { env });
      if (!reached(journal, 'mount')) await done('mount');
      if (!reached(journal, 'copy')) {
        phase('copy', 'copying every file of the home into it');
        await refuseIfRunning(home);
        await fs.cp(home, journal.staging_mount, { recursive: true, force: true, preserveTimestamps: true, verbatimSymlinks: true });
        throwIfAborted(ctx.signal);
        await done('copy');
      }
    }
    let verified: Comparison | null = null;
    if (!reached(journal, 'verify')) {
      phase('verify', 'every file against its SHA-256 in the home, every database opened with its engine, through the mount');
      const { key } = await resolveMasterKey(keyring, env).catch(() => ({ key: null }));
      verified = await compareTrees(home, journal.staging_mount, { masterKey: key, env, scratch: path.dirname(cipherDir), ...(ctx.signal ? { signal: ctx.signal } : {}) });
      for (const unit of verified.skipped) emit(warningEvent('NOT_VALIDATED', `The ${unit} database was compared byte for byte but not opened: its key (AICO's master key) is not available here.`));
      await done('verify');
    }
    if (!reached(journal, 'fsck')) {
      phase('fsck', 'unmounting and checking the encrypted filesystem (gocryptfs -fsck)');
      if (await isMounted(journal.staging_mount)) await unmount(journal.staging_mount, { env });
      await fsckCipherDir(cipherDir, password, { env });
      await fs.rmdir(journal.staging_mount).catch(() => {});
      await done('fsck');
    }
    if (!reached(journal, 'swap') && opts.beforeSwap && !(await opts.beforeSwap())) {
      throw new AicoError('CANCELLED', 'Stopped before the switch-over: the encrypted copy is made and verified, the home is unchanged.', {
        hint: 'Run the migration again to switch over (it resumes there), or aico backup migrate rollback.',
      });
    }
    if (!reached(journal, 'swap')) {
      phase('swap', `the plaintext home aside, the encrypted one mounted at ${home}`);
      await swap(journal, password, env);
      await done('swap');
    }
    await done('done');
    emit({ type: 'summary', op: 'migrate', ok: true, durationMs: Date.now() - started });
    return { home, cipherDir, plaintext: journal.plaintext!, backup: journal.backup, masterKey, keyring: journal.keyring, verified, resumed, durationMs: Date.now() - started };
  } finally {
    password.fill(0);
  }
}

/** The swap, resumable: the plan is journaled first, each action is skipped when it is already done. */
async function swap(j: MigrationJournal, password: Buffer, env: NodeJS.ProcessEnv): Promise<void> {
  if (!j.plaintext) {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
    j.plaintext = `${j.home}.plaintext-${stamp}`;
    await writeJournal(j, env);
  }
  const homeExists = await fs.stat(j.home).then(() => true, () => false);
  const asideExists = await fs.stat(j.plaintext).then(() => true, () => false);
  if (homeExists && !asideExists) {
    await refuseIfRunning(j.home);
    await fs.rename(j.home, j.plaintext);
  }
  await fs.mkdir(j.home, { recursive: true, mode: 0o700 });
  maybeCrash('migrate:swap-renamed');
  if (!(await isMounted(j.home))) await mountCipherDir(j.cipher_dir, j.home, password, { env });
}

async function preflight(home: string, cipherDir: string, env: NodeJS.ProcessEnv): Promise<void> {
  await checkTools({ env });
  if (!(await fs.stat(home).then((s) => s.isDirectory(), () => false))) throw new AicoError('NOT_FOUND', `There is no AICO home at ${home}.`);
  if (await isMounted(home)) throw new AicoError('USAGE', `${home} is already a gocryptfs mount.`);
  const entries = await fs.readdir(cipherDir).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)));
  if (entries.length > 0) throw new AicoError('USAGE', `${cipherDir} is not empty; the encrypted copy goes into a new or empty directory.`, { hint: 'Choose another --output.' });
  if (cipherDir === home || cipherDir.startsWith(`${home}${path.sep}`)) throw new AicoError('USAGE', 'The encrypted directory cannot be inside the AICO home it encrypts.', { hint: 'Choose a directory outside it, e.g. --output ~/aico-encrypted/.' });
  await refuseIfRunning(home);
  const need = Math.ceil((await treeBytes(home)) * 1.1);
  const parent = await nearestDir(cipherDir);
  const st = await fs.statfs(parent);
  const free = st.bavail * st.bsize;
  if (free < need) {
    throw new AicoError('NO_SPACE', `${parent} has ${Math.round(free / 1048576)} MiB free; the encrypted copy needs ${Math.round(need / 1048576)} MiB (the home plus 10 %). Nothing was changed.`, { hint: 'Free some space or choose another --output.' });
  }
}

async function refuseIfRunning(home: string): Promise<void> {
  const holders = await processesHolding(path.join(home, 'data'));
  if (holders && holders.length > 0) {
    const h = holders[0]!;
    throw new AicoError('DATABASE_IN_USE', `AICO appears to be running on ${home}: ${h.command} (pid ${h.pid}) has ${h.file} open. Nothing was switched over.`, { hint: 'Stop AICO, then run the migration again (it resumes).', details: { pid: h.pid, command: h.command } });
  }
}

async function treeBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += await treeBytes(p);
    else if (e.isFile()) n += (await fs.stat(p)).size;
  }
  return n;
}

async function nearestDir(p: string): Promise<string> {
  for (let d = p; ; d = path.dirname(d)) {
    if (await fs.stat(d).then((s) => s.isDirectory(), () => false)) return d;
    if (d === path.dirname(d)) return d;
  }
}
