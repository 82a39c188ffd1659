import { deleteBackups } from '../../engine/index.js';
import type { RunContext } from '../context.js';
import { formatBytes } from '../format.js';

export async function runDelete(ctx: RunContext, files: string[], flags: { dryRun?: boolean; withDependents?: boolean }): Promise<void> {
  const result = await deleteBackups({ paths: files, dryRun: flags.dryRun === true, withDependents: flags.withDependents === true }, { onEvent: (e) => ctx.out.event(e), signal: ctx.signal });
  ctx.out.result(
    {
      deleted: !result.dryRun,
      dry_run: result.dryRun,
      backups: result.backups.map((b) => ({ path: b.path, name: b.name, bytes: b.bytes, deleted: b.deleted, dependent: b.dependent, readers: b.readers })),
      bytes: result.bytes,
      duration_ms: result.durationMs,
    },
    () => {
      const verb = result.dryRun ? 'Would delete' : 'Deleted';
      const lines = result.backups.map((b) => {
        const open = b.readers && b.readers.length > 0 ? `  (open in pid ${b.readers.map((r) => r.pid).join(', ')})` : '';
        return `${verb} ${b.path} (${formatBytes(b.bytes)})${b.dependent ? ', it built on what you named' : ''}${open}`;
      });
      if (result.backups.length > 1) lines.push(`${result.dryRun ? 'Would free' : 'Freed'} ${formatBytes(result.bytes)} in ${result.backups.length} backups.`);
      if (result.dryRun) lines.push('Dry run: nothing was deleted.');
      return lines.join('\n');
    },
  );
}
