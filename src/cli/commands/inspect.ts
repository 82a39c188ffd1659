import path from 'node:path';
import { AicoError, expandTilde, info, resolveLocation, list, scheduleStatus, verify } from '../../engine/index.js';
import type { RunContext } from '../context.js';
import { formatBytes } from '../format.js';
import { readPassword, type PasswordFlags } from '../password.js';

export async function runVerify(ctx: RunContext, file: string, flags: PasswordFlags): Promise<void> {
  const result = await verify({ path: resolveLocation(file), password: readPassword(flags) }, { onEvent: (e) => ctx.out.event(e), signal: ctx.signal });
  if (!result.ok) {
    const bad = result.problems.length > 0 ? { path: result.path, problems: result.problems } : result.chain.find((l) => !l.ok)!;
    const where = bad.path === result.path ? result.path : `${bad.path}, which ${path.basename(result.path)} builds on`;
    throw new AicoError('CHECKSUM_MISMATCH', `Verification failed: ${bad.problems.length} problem(s) in ${where}.`, {
      hint: bad.problems.slice(0, 5).map((p) => p.message).join('\n  ') + '\n  Use another copy of this backup.',
      details: { problems: bad.problems, archive: bad.path },
    });
  }
  const chain = result.chain.map((l) => ({ path: l.path, id: l.id, type: l.type, ok: l.ok }));
  ctx.out.result(
    { verified: true, path: result.path, id: result.id, files: result.files, bytes: result.bytes, problems: [], chain, duration_ms: result.durationMs },
    () =>
      [
        `OK: ${result.path}`,
        `  ${result.files} files checked, ${formatBytes(result.bytes)}, ${result.encrypted ? 'encrypted' : 'not encrypted'}, ${result.compression}`,
        ...result.chain.map((l) => `  OK: builds on ${path.basename(l.path)} (${l.type}), verified too`),
      ].join('\n'),
  );
}

export async function runInfo(ctx: RunContext, file: string, flags: PasswordFlags): Promise<void> {
  const result = await info({ path: resolveLocation(file), password: readPassword(flags) }, { onEvent: (e) => ctx.out.event(e), signal: ctx.signal });
  ctx.out.result({ info: result }, () => {
    const m = result.metadata;
    const lines = [
      `${result.path}`,
      `  id          ${m.id}`,
      `  created     ${m.created}`,
      `  type        ${m.backup_type}${m.parent ? `, link ${m.chain_length} of its chain, on ${m.parent.name} (${m.parent.id})` : m.parent_id ? ` (parent ${m.parent_id})` : ''}`,
      ...(result.purpose === 'pre-restore'
        ? [`  purpose     safety backup, made before a restore replaced it${m.pre_restore ? `: ${m.pre_restore.units.join(', ')} of ${m.pre_restore.target}, restoring ${path.basename(m.pre_restore.archive)}` : ''}`]
        : []),
      `  format      ${m.backup_version} (written by aico-backup ${m.tool?.version})`,
      `  size        ${formatBytes(result.bytes)} (${formatBytes(result.contents.bytes)} of data in ${result.contents.files} files${m.parent ? `, ${formatBytes(result.contents.stored_bytes)} of it stored here` : ''})`,
      `  encryption  ${m.encryption.enabled ? `${m.encryption.cipher}, ${m.encryption.kdf} x${m.encryption.iterations}` : 'none'}`,
      `  compression ${m.compression.algorithm}${m.compression.level ? ` level ${m.compression.level}` : ''}`,
      `  sources:`,
      ...Object.entries(m.databases).map(
        ([name, s]) => `    ${name.padEnd(10)} ${String(s.files).padStart(5)} files  ${formatBytes(s.size_bytes).padStart(9)}  ${s.consistent ? '' : 'NOT consistent  '}${s.method}`,
      ),
    ];
    return lines.join('\n');
  });
}

export async function runList(ctx: RunContext, dir: string | undefined, flags: { verbose?: boolean }): Promise<void> {
  const { backup: cfg } = await ctx.config();
  const target = resolveLocation(dir ?? cfg.output_dir);
  const result = await list({ dir: target }, { onEvent: (e) => ctx.out.event(e) });
  // A schedule that fails or does not run is news wherever backups are looked at.
  const schedules = (await scheduleStatus(ctx.home).catch(() => []))
    .filter((s) => s.overdue || s.state?.last_outcome === 'failed')
    .map((s) => ({ name: s.schedule.name, overdue: s.overdue, last_outcome: s.state?.last_outcome ?? null, last_error: s.state?.last_error ?? null, last_success: s.state?.last_success ?? null }));
  const scheduleLines = schedules.map(
    (s) => `! schedule ${s.name}: ${s.last_outcome === 'failed' ? `last run FAILED (${s.last_error?.code}: ${s.last_error?.message})` : 'OVERDUE'}${s.overdue && s.last_outcome === 'failed' ? ', OVERDUE' : ''}; last success ${s.last_success ?? 'never'} (aico backup schedule list)`,
  );
  ctx.out.result({ dir: result.dir, backups: result.backups, schedule_problems: schedules }, () => {
    if (result.backups.length === 0) return [`No backups in ${result.dir}.`, ...scheduleLines].join('\n');
    const rows = result.backups.map((b) => {
      const when = b.created ? b.created.replace('T', ' ').slice(0, 19) : '?'.padEnd(19);
      const type = b.purpose === 'pre-restore' ? 'safety' : b.type ?? '?';
      const on = b.parent_id ? (b.chain_intact ? `  <- ${b.parent_name}` : `  <- ${b.parent_name ?? `${b.parent_id} (missing)`}, CHAIN BROKEN`) : '';
      const base = `${when}  ${type.padEnd(12)} ${formatBytes(b.bytes).padStart(9)}  ${b.encrypted ? 'enc ' : 'open'}  ${b.name}${on}`;
      const problem = b.problem ? `\n    ! ${b.problem.code}: ${b.problem.message}` : '';
      const verbose = flags.verbose
        ? `\n    id ${b.id ?? '?'}  format ${b.format_version ?? '?'}  ${b.compression ?? '?'}${b.sources ? `  sources ${b.sources.join(',')}` : ''}`
        : '';
      return base + verbose + problem;
    });
    return [`Backups in ${result.dir} (newest first):`, ...rows, ...scheduleLines].join('\n');
  });
}
