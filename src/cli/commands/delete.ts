import path from 'node:path';
import { AicoError, deleteBackups } from '../../engine/index.js';
import { readPassword, type PasswordFlags } from '../password.js';
import type { RunContext } from '../context.js';
import { formatBytes } from '../format.js';

export async function runDelete(ctx: RunContext, files: string[], flags: PasswordFlags & { dryRun?: boolean; withDependents?: boolean; consolidate?: boolean }): Promise<void> {
  if (flags.withDependents && flags.consolidate) throw new AicoError('USAGE', '--with-dependents deletes the backups that build on these, --consolidate keeps their restore points: give one of them.');
  const result = await deleteBackups(
    { paths: files, dryRun: flags.dryRun === true, withDependents: flags.withDependents === true, consolidate: flags.consolidate === true, ...(flags.consolidate ? { password: readPassword(flags) } : {}) }, { onEvent: (e) => ctx.out.event(e), signal: ctx.signal });
  ctx.out.result(
    {
      deleted: !result.dryRun,
      dry_run: result.dryRun,
      backups: result.backups.map((b) => ({ path: b.path, name: b.name, bytes: b.bytes, deleted: b.deleted, dependent: b.dependent, readers: b.readers })),
      consolidated: result.consolidated,
      bytes: result.bytes,
      duration_ms: result.durationMs,
    },
    () => {
      const verb = result.dryRun ? 'Would delete' : 'Deleted';
      const fulls = result.consolidated.map((c) =>
        c.to ? `Wrote ${c.to}, a full backup of ${path.basename(c.from)}'s restore point` : `Would write a full backup of ${path.basename(c.from)}'s restore point`,
      );
      const lines = [...fulls, ...result.backups.map((b) => {
        const open = b.readers && b.readers.length > 0 ? `  (open in pid ${b.readers.map((r) => r.pid).join(', ')})` : '';
        return `${verb} ${b.path} (${formatBytes(b.bytes)})${b.dependent ? ', it built on what you named' : ''}${open}`;
      })];
      if (result.backups.length > 1) lines.push(`${result.dryRun ? 'Would free' : 'Freed'} ${formatBytes(result.bytes)} in ${result.backups.length} backups.`);
      if (result.dryRun) lines.push('Dry run: nothing was deleted.');
      return lines.join('\n');
    },
  );
}
