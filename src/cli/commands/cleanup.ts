import path from 'node:path';
import { AicoError, cleanup, resolveLocation, describeRules, expandTilde, formatBytes, formatInZone, keepRulesFrom, localTimeZone, type CleanupEntry, type RetentionFlags } from '../../engine/index.js';
import type { RunContext } from '../context.js';
import { readPassword, type PasswordFlags } from '../password.js';

export interface CleanupFlags extends PasswordFlags, RetentionFlags {
  output?: string;
  keep?: string;
  tz?: string;
  dryRun?: boolean;
  consolidate?: boolean;
}

export async function runCleanup(ctx: RunContext, dir: string | undefined, flags: CleanupFlags): Promise<void> {
  if (dir && flags.output && resolveLocation(dir) !== resolveLocation(flags.output)) {
    throw new AicoError('USAGE', `Two backup directories were given: ${dir} and --output ${flags.output}.`, { hint: 'Give the directory once, as an argument or as --output.' });
  }
  if (flags.keep !== undefined && flags.keepLast !== undefined) throw new AicoError('USAGE', '--keep is --keep-last; give one of them.');
  const { backup: cfg } = await ctx.config();
  const target = resolveLocation(dir ?? flags.output ?? cfg.output_dir);
  const { rules, from } = keepRulesFrom(cfg, { ...flags, ...(flags.keep !== undefined ? { keepLast: flags.keep } : {}) });
  const timeZone = flags.tz ?? localTimeZone();
  const result = await cleanup(
    { dir: target, rules, timeZone, dryRun: flags.dryRun === true, consolidate: flags.consolidate === true, password: readPassword(flags) },
    { onEvent: (e) => ctx.out.event(e), signal: ctx.signal },
  );
  const policy = describeRules(rules);
  const row = (b: CleanupEntry) => ({ path: b.path, name: b.name, created: b.created, type: b.type, purpose: b.purpose, bytes: b.bytes, keep: b.keep, reasons: b.reasons, removed: b.removed });
  ctx.out.result(
    {
      dir: result.dir,
      dry_run: result.dryRun,
      policy: { rules: policy, from, time_zone: result.timeZone },
      verified: result.verified,
      consolidated: result.consolidated,
      backups: result.backups.map(row),
      removed: result.removed,
      bytes: result.bytes,
      duration_ms: result.durationMs,
    },
    () => {
      if (result.backups.length === 0) return `No backups in ${result.dir}; nothing to clean up.`;
      const lines = [`Backups in ${result.dir}, policy ${policy} (${from === 'config' ? 'from core.yaml' : 'as given'}), periods in ${result.timeZone}:`];
      for (const b of result.backups) {
        const type = b.purpose === 'pre-restore' ? 'safety' : (b.type ?? '?');
        const verdict = b.keep ? (b.path ? 'keep' : 'WRITE') : result.dryRun ? 'REMOVE' : 'removed';
        const size = b.path ? formatBytes(b.bytes) : '';
        lines.push(`  ${verdict.padEnd(7)} ${formatInZone(b.created, result.timeZone)}  ${type.padEnd(12)} ${size.padStart(9)}  ${b.name}${b.reasons.length > 0 ? `  (${b.reasons.join('; ')})` : ''}`);
      }
      if (result.verified) lines.push(`Verified first: ${result.verified}.`);
      for (const c of result.consolidated) {
        lines.push(c.to ? `Wrote ${path.basename(c.to)}, a full backup of ${path.basename(c.from)}, which it replaces.` : `Would write a full backup of ${path.basename(c.from)} to replace it.`);
      }
      const n = result.removed;
      lines.push(
        n === 0
          ? 'Nothing to remove: the policy keeps every backup.'
          : result.dryRun
            ? `Dry run: ${n} backup(s) would be removed, freeing ${formatBytes(result.bytes)}; nothing was changed.`
            : `Removed ${n} backup(s), freed ${formatBytes(result.bytes)}.`,
      );
      return lines.join('\n');
    },
  );
}
