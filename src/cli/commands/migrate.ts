import path from 'node:path';
import {
  compareTrees,
  createOptionsFrom,
  finalizeMigration,
  migrateEncrypt,
  migrationStatus,
  mountHome,
  rollbackMigration,
  unmountHome,
  formatBytes,
  formatDuration,
} from '../../engine/index.js';
import type { RunContext } from '../context.js';
import { fsPasswordProvider, passwordProvider, readPassword, type PasswordFlags } from '../password.js';

export interface MigrateEncryptFlags extends PasswordFlags {
  output: string;
  createBackup?: boolean;
  backupOutput?: string;
  fsPasswordFile?: string;
}

export async function runMigrateEncrypt(ctx: RunContext, flags: MigrateEncryptFlags): Promise<void> {
  const { backup: cfg } = await ctx.config();
  const plan = flags.createBackup === false ? null : createOptionsFrom(cfg, { ...(flags.backupOutput ? { output: flags.backupOutput } : {}) }, { home: ctx.home }).options;
  const backupPassword = plan?.encrypt ? passwordProvider(flags, true, { purpose: 'create', useKeyring: true }) : undefined;
  const r = await migrateEncrypt(
    {
      home: ctx.home,
      cipherDir: path.resolve(flags.output),
      fsPassword: fsPasswordProvider(flags.fsPasswordFile, true),
      createBackup: flags.createBackup !== false,
      ...(plan ? { backup: { ...plan, ...(backupPassword ? { password: backupPassword } : {}) } } : {}),
    },
    { onEvent: (e) => ctx.out.event(e), signal: ctx.signal },
  );
  ctx.out.result(
    { home: r.home, cipher_dir: r.cipherDir, plaintext: r.plaintext, backup: r.backup, master_key: r.masterKey, keyring: r.keyring, resumed: r.resumed, verified: r.verified, duration_ms: r.durationMs },
    () =>
      [
        `${r.home} is now encrypted with gocryptfs (in ${r.cipherDir}) and mounted where it was; AICO finds its data as before.`,
        r.resumed ? `  (an interrupted migration, resumed after ${r.resumed})` : '',
        r.verified ? `  verified through the mount: ${r.verified.files} files (${formatBytes(r.verified.bytes)}), databases opened: ${r.verified.databases.map((d) => d.engine).join(', ') || 'none'}` : '',
        r.backup ? `  backup made first: ${r.backup}` : '  no backup was made first',
        r.masterKey
          ? `\n  MASTER KEY (shown once; write it down and keep it apart from this computer):\n\n      ${r.masterKey}\n\n  With it, gocryptfs -masterkey opens the data even if the password or gocryptfs.conf is lost.${r.keyring ? ' It and the password are also in the keyring.' : ''}`
          : '',
        `  The plaintext home is kept at ${r.plaintext} until you delete it: aico backup migrate finalize.`,
        `  After a reboot: aico backup migrate mount (before AICO starts). Undo: aico backup migrate rollback. Took ${formatDuration(r.durationMs)}.`,
      ]
        .filter(Boolean)
        .join('\n'),
  );
}

export async function runMigrateStatus(ctx: RunContext): Promise<void> {
  const s = await migrationStatus(ctx.home);
  ctx.out.result({ status: s }, () =>
    s.state === 'not-migrated'
      ? `${s.home}: not migrated (plaintext). aico backup migrate encrypt --output DIR encrypts it with gocryptfs.`
      : [
          `${s.home}: ${s.state === 'migrated' ? 'migrated' : `migration in progress (after ${s.step})`}`,
          `  cipher directory  ${s.cipher_dir}`,
          `  mounted           ${s.mounted ? 'yes' : 'no (aico backup migrate mount)'}`,
          `  plaintext copy    ${s.plaintext ? `${s.plaintext.path}${s.plaintext.present ? ' (still there: migrate finalize deletes it)' : ' (deleted)'}` : 'not moved aside yet'}`,
          s.backup ? `  backup            ${s.backup}` : '',
          s.state === 'in-progress' ? '  Run the migration again to finish it, or aico backup migrate rollback.' : '',
        ]
          .filter(Boolean)
          .join('\n'),
  );
}

export async function runMigrateMount(ctx: RunContext, flags: { fsPasswordFile?: string }): Promise<void> {
  const r = await mountHome({ home: ctx.home, password: fsPasswordProvider(flags.fsPasswordFile, false) });
  ctx.out.result({ home: r.home, cipher_dir: r.cipherDir, password_from: r.passwordFrom, mounted: true }, () => `Mounted the encrypted AICO home at ${r.home}; AICO can start.`);
}

export async function runMigrateUnmount(ctx: RunContext): Promise<void> {
  const r = await unmountHome({ home: ctx.home });
  ctx.out.result({ home: r.home, was_mounted: r.wasMounted, mounted: false }, () => (r.wasMounted ? `Unmounted ${r.home}.` : `${r.home} was not mounted.`));
}

export async function runMigrateRollback(ctx: RunContext, flags: PasswordFlags & { backup?: string }): Promise<void> {
  const r = await rollbackMigration(
    { home: ctx.home, ...(flags.backup ? { backup: path.resolve(flags.backup), backupPassword: readPassword(flags) } : {}) },
    { onEvent: (e) => ctx.out.event(e), signal: ctx.signal },
  );
  const how = { plaintext: 'the plaintext home is back in place', unchanged: 'the home had not been switched over; it is as it was', backup: 'restored from the backup' }[r.from];
  ctx.out.result({ home: r.home, from: r.from, cipher_dir: r.cipherDir }, () =>
    [`Rolled back ${r.home}: ${how}.`, r.cipherDir ? `  The encrypted directory ${r.cipherDir} was left as it is; remove it when you no longer need it.` : ''].filter(Boolean).join('\n'),
  );
}

export async function runMigrateFinalize(ctx: RunContext): Promise<void> {
  const r = await finalizeMigration({ home: ctx.home });
  ctx.out.result({ removed: r.removed, files: r.files, bytes: r.bytes }, () =>
    [
      `Deleted the plaintext copy ${r.removed}: ${r.files} files (${formatBytes(r.bytes)}), each overwritten with zeros first.`,
      '  What overwriting can guarantee: on a hard disk with a plain file system (ext4, xfs) the old bytes are gone.',
      '  What it cannot: SSDs remap blocks (wear levelling) and copy-on-write file systems (btrfs, ZFS, APFS)',
      '  write elsewhere, so old copies may survive on the device. Full-disk encryption, or a secure erase of',
      '  the whole device, is the only sure way there.',
    ].join('\n'),
  );
}

export async function runMigrateVerify(ctx: RunContext, flags: { source: string; target: string }): Promise<void> {
  const r = await compareTrees(path.resolve(flags.source), path.resolve(flags.target), { masterKey: null, signal: ctx.signal });
  ctx.out.result({ verified: true, files: r.files, bytes: r.bytes, databases: r.databases, skipped: r.skipped }, () =>
    `OK: ${r.files} files (${formatBytes(r.bytes)}) identical; databases opened: ${r.databases.map((d) => d.engine).join(', ') || 'none'}${r.skipped.length ? ` (not opened, no key: ${r.skipped.join(', ')})` : ''}.`,
  );
}
