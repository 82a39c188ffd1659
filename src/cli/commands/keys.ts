import path from 'node:path';
import {
  resolveLocation,
  clearStoredBackupPassword,
  exportMasterKey,
  importMasterKeyFrom,
  setStoredBackupPassword,
  storedBackupPasswordStatus,
} from '../../engine/index.js';
import type { RunContext } from '../context.js';
import { readPassword, requiredPassword, type PasswordFlags } from '../password.js';

export async function runKeyExport(ctx: RunContext, file: string, flags: PasswordFlags & { from?: string }): Promise<void> {
  const target = path.resolve(file);
  const from = flags.from ? resolveLocation(flags.from) : undefined;
  // From a backup, its own password opens it and seals the file: one password, as for encryption_key.enc.
  const password = from ? readPassword(flags) : requiredPassword(flags, true, 'key-export');
  const result = await exportMasterKey(target, password, { from });
  const origin = result.from ? `the backup ${result.from}` : result.source === 'env' ? 'the AICO_MASTER_KEY variable' : 'the keyring';
  ctx.out.result(
    { exported: true, file: result.file, master_key_source: result.source, ...(result.from ? { from: result.from } : {}) },
    () => `Master key (from ${origin}) written to ${result.file}, sealed with ${result.from ? "the backup's password" : 'your password'}. Keep it apart from your backups.`,
  );
}

export async function runKeyImport(ctx: RunContext, file: string, flags: PasswordFlags & { force?: boolean }): Promise<void> {
  const source = path.resolve(file);
  const result = await importMasterKeyFrom(
    source,
    {
      keyFile: () => requiredPassword(flags, false, 'key-import')(),
      backup: readPassword(flags),
    },
    { force: flags.force },
  );
  ctx.out.result(
    { imported: true, file: source, from: result.from, outcome: result.outcome, replaced: result.replaced },
    () =>
      result.outcome === 'unchanged'
        ? 'The keyring already holds this master key; nothing changed.'
        : `Master key stored in the keyring${result.replaced ? ' (the previous one was replaced)' : ''}.`,
  );
}

export async function runPasswordSet(ctx: RunContext, flags: PasswordFlags): Promise<void> {
  const password = await requiredPassword(flags, true, 'password-set')();
  await setStoredBackupPassword(password);
  ctx.out.result({ stored: true }, () => 'Backup password stored in the keyring; create will use it when no other password is given.');
}

export async function runPasswordClear(ctx: RunContext): Promise<void> {
  const { removed } = await clearStoredBackupPassword();
  ctx.out.result({ removed }, () => (removed ? 'Backup password removed from the keyring.' : 'No backup password was stored.'));
}

export async function runPasswordStatus(ctx: RunContext): Promise<void> {
  const { stored } = await storedBackupPasswordStatus();
  ctx.out.result({ stored }, () => (stored ? 'A backup password is stored in the keyring.' : 'No backup password is stored in the keyring.'));
}
