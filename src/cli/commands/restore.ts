import path from 'node:path';
import { expandTilde, resolveLocation, restore } from '../../engine/index.js';
import type { RunContext } from '../context.js';
import { formatBytes, formatDuration } from '../format.js';
import { readPassword, type PasswordFlags } from '../password.js';

export interface RestoreFlags extends PasswordFlags {
  target?: string;
  database?: string;
  configOnly?: boolean;
  dryRun?: boolean;
  force?: boolean;
  merge?: boolean;
  safetyBackup?: boolean;
  output?: string;
}

function describeCounts(c: { tables?: Record<string, number>; collections?: Record<string, number>; entries?: number }): string {
  if (c.tables) return `${Object.keys(c.tables).length} tables, ${Object.values(c.tables).reduce((a, b) => a + b, 0)} rows`;
  if (c.collections) return `${Object.keys(c.collections).length} collections, ${Object.values(c.collections).reduce((a, b) => a + b, 0)} records`;
  if (c.entries !== undefined) return `${c.entries} entries`;
  return '';
}

export async function runRestore(ctx: RunContext, file: string, flags: RestoreFlags): Promise<void> {
  const { backup: cfg } = await ctx.config();
  const result = await restore(
    {
      path: resolveLocation(file),
      password: readPassword(flags),
      home: ctx.home,
      target: flags.target ? path.resolve(flags.target) : undefined,
      databases: flags.database?.split(',').map((s) => s.trim()).filter(Boolean),
      configOnly: flags.configOnly,
      dryRun: flags.dryRun,
      force: flags.force,
      merge: flags.merge,
      safetyBackupDir: flags.safetyBackup === false ? null : resolveLocation(flags.output ?? cfg.output_dir),
    },
    { onEvent: (e) => ctx.out.event(e), signal: ctx.signal },
  );
  ctx.out.result(
    {
      restored: !result.dryRun,
      dry_run: result.dryRun,
      archive: result.archive,
      target: result.target,
      mode: result.mode,
      databases: result.units.map((u) => ({
        name: u.name,
        action: u.action,
        files: u.files,
        bytes: u.bytes,
        skipped: u.skipped,
        validation: u.validation ? { ok: u.validation.ok, database: u.validation.database, counts: u.validation.counts } : null,
      })),
      safety_backup: result.safetyBackup,
      master_key: result.masterKey,
      recovered: result.recovered,
      warnings: result.warnings,
      duration_ms: result.durationMs,
    },
    () =>
      [
        result.dryRun ? `Dry run: nothing was changed in ${result.target}. A restore would:` : `Restored ${path.basename(result.archive.path)} into ${result.target}:`,
        ...result.units.map((u) => {
          const valid = u.validation ? `  validated: ${describeCounts(u.validation.counts)}` : '';
          const skipped = !u.skipped.length ? '' : u.action === 'replace' ? `  (keeps ${u.skipped.length} file(s) the backup does not hold)` : `  (kept ${u.skipped.length} existing file(s))`;
          return `  ${u.name.padEnd(9)} ${u.action.padEnd(8)} ${String(u.files).padStart(5)} files ${formatBytes(u.bytes).padStart(10)}${valid}${skipped}`;
        }),
        result.safetyBackup ? `  What was replaced is saved in ${result.safetyBackup}` : '',
        result.masterKey.source === 'archive' ? `  Master key from the backup; keyring: ${result.masterKey.keyring}` : '',
        result.dryRun ? '' : `  ${formatDuration(result.durationMs)}`,
      ]
        .filter(Boolean)
        .join('\n'),
  );
}
