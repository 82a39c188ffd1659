import path from 'node:path';
import { consolidate, resolveLocation } from '../../engine/index.js';
import type { RunContext } from '../context.js';
import { formatBytes, formatDuration } from '../format.js';
import { readPassword, type PasswordFlags } from '../password.js';

export async function runConsolidate(ctx: RunContext, file: string, flags: PasswordFlags & { output?: string }): Promise<void> {
  const result = await consolidate(
    { path: resolveLocation(file), password: readPassword(flags), ...(flags.output ? { outputDir: resolveLocation(flags.output) } : {}) },
    { onEvent: (e) => ctx.out.event(e), signal: ctx.signal },
  );
  ctx.out.result({ backup: result.backup, from: result.from, duration_ms: result.durationMs }, () =>
    [
      `Full backup written: ${result.backup.path}`,
      `  ${formatBytes(result.backup.bytes)}, ${result.backup.files} files, ${result.backup.encrypted ? 'encrypted' : 'NOT encrypted'}, ${formatDuration(result.durationMs)}`,
      `  the restore point ${path.basename(result.from[0]!.path)} (${result.backup.created}), put together from ${result.from.length} backups:`,
      ...result.from.map((l) => `    ${path.basename(l.path)} (${l.type})`),
      '  They are unchanged; the chain can now be cleaned up without losing this restore point.',
    ].join('\n'),
  );
}
