import path from 'node:path';
import {
  resolveLocation,
  AicoError,
  changeSchedule,
  createSchedule,
  installSchedule,
  runDue,
  scheduleStatus,
  uninstallSchedule,
  type ScheduleInput,
  type ScheduleStatus,
} from '../../engine/index.js';
import type { RunContext } from '../context.js';
import { formatBytes, formatDuration } from '../format.js';

export interface ScheduleCreateFlags {
  name?: string;
  syncTo?: string[];
  frequency?: string;
  time?: string;
  day?: string;
  dayOfMonth?: string;
  cron?: string;
  type?: string;
  fullEvery?: string;
  output?: string;
  compression?: string;
  compressionLevel?: string;
  encrypt?: boolean;
  include?: string;
  exclude?: string;
  passwordFile?: string;
  cleanup?: boolean;
  disabled?: boolean;
  replace?: boolean;
}

const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((x) => x.trim()).filter(Boolean));
const num = (v: string | undefined, flag: string) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new AicoError('USAGE', `${flag} takes a whole number (got "${v}").`);
  return n;
};

/** "Wed 2026-12-02 02:00 CET (01:00 UTC)": local first, as the schedule reads, then UTC. */
export function when(iso: string | null): string {
  if (!iso) return 'never';
  const d = new Date(iso);
  const weekday = new Intl.DateTimeFormat('en-US', { weekday: 'short' }).format(d);
  const local = new Intl.DateTimeFormat('sv-SE', { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
  const zone = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? '';
  return `${weekday} ${local} ${zone} (${iso.slice(11, 16)} UTC)`;
}

export async function runScheduleCreate(ctx: RunContext, flags: ScheduleCreateFlags): Promise<void> {
  const input: ScheduleInput = {
    name: flags.name ?? 'default',
    ...(flags.disabled ? { enabled: false } : {}),
    ...(flags.frequency !== undefined ? { frequency: flags.frequency as never } : {}),
    ...(flags.time !== undefined ? { time: flags.time } : {}),
    ...(flags.day !== undefined ? { day: flags.day.toLowerCase() as never } : {}),
    ...(flags.dayOfMonth !== undefined ? { day_of_month: num(flags.dayOfMonth, '--day-of-month') } : {}),
    ...(flags.cron !== undefined ? { cron: flags.cron } : {}),
    ...(flags.type !== undefined ? { type: flags.type as never } : {}),
    ...(flags.fullEvery !== undefined ? { full_every: flags.fullEvery as never } : {}),
    ...(flags.output !== undefined ? { output_dir: resolveLocation(flags.output) } : {}),
    ...(flags.compression !== undefined ? { compression: flags.compression } : {}),
    ...(flags.compressionLevel !== undefined ? { compression_level: num(flags.compressionLevel, '--compression-level') } : {}),
    ...(flags.encrypt === false ? { encrypt: false } : {}),
    ...(flags.include !== undefined ? { include: list(flags.include) } : {}),
    ...(flags.exclude !== undefined ? { exclude: list(flags.exclude) } : {}),
    ...(flags.passwordFile !== undefined ? { password_file: path.resolve(flags.passwordFile) } : {}),
    ...(flags.cleanup === false ? { cleanup: false } : {}),
    ...(flags.syncTo?.length ? { sync_to: flags.syncTo.map(resolveLocation) } : {}),
  };
  // Weekly without a day: Sunday, as the seed's schedule block has it; daily and weekly without a time: 02:00.
  if (input.frequency && input.time === undefined) input.time = '02:00';
  if (input.frequency === 'weekly' && input.day === undefined) input.day = 'sunday';
  const r = await createSchedule(ctx.home, input, { replace: flags.replace === true });
  ctx.out.result({ schedule: r.schedule, next: r.next, timer: r.timer }, () =>
    [
      `Schedule "${r.schedule.name}" saved in ${path.join(ctx.home, 'config', 'core.yaml')}${r.schedule.enabled ? '' : ' (disabled)'}.`,
      ...(r.schedule.enabled ? ['  next runs:', ...r.next.map((n) => `    ${when(n)}`)] : []),
      r.timer.installed ? `  the ${r.timer.installed} timer installed for this home runs it.` : '  Nothing runs it yet: aico backup schedule install sets up the timer (systemd or cron).',
    ].join('\n'),
  );
}

function describeStatus(s: ScheduleStatus, verbose: boolean): string[] {
  const sc = s.schedule;
  const what = sc.cron !== undefined ? `cron "${sc.cron}"` : `${sc.frequency} at ${sc.time}${sc.frequency === 'weekly' ? ` on ${sc.day}` : sc.frequency === 'monthly' ? ` on day ${sc.day_of_month ?? 1}` : ''}`;
  const state = s.state;
  const lines = [
    `${sc.name}: ${what}, ${sc.type}${sc.type === 'full' ? '' : ` (full ${sc.full_every === 'never' ? 'only when needed' : sc.full_every})`}, ${sc.enabled ? 'enabled' : 'DISABLED'}${s.overdue ? ', OVERDUE' : ''}`,
    `  next        ${sc.enabled ? when(s.next[0] ?? null) : '-'}`,
    `  last try    ${when(state?.last_attempt ?? null)}${state?.last_outcome === 'failed' ? `  FAILED: ${state.last_error?.code}: ${state.last_error?.message}` : ''}`,
    `  last ok     ${when(state?.last_success ?? null)}${state?.last_backup ? `  ${path.basename(state.last_backup)}` : ''}`,
  ];
  if (s.overdue) lines.push(`  the run for ${when(s.last_scheduled)} has not succeeded: is the timer installed (aico backup schedule install)?`);
  if (verbose) {
    lines.push(`  cron        ${s.cron} (${s.time_zone})`, ...s.next.slice(1).map((n) => `  then        ${when(n)}`));
    lines.push(`  output      ${sc.output_dir ?? '(backup.output_dir)'}, ${sc.encrypt === false ? 'not encrypted' : 'encrypted'}${sc.password_file ? `, password file ${sc.password_file}` : ''}`);
    lines.push(`  cleanup     ${sc.cleanup ? (sc.retention ? 'its own retention policy' : 'backup.retention') : 'none'}`);
  }
  return lines;
}

export async function runScheduleList(ctx: RunContext, name: string | undefined, verbose: boolean): Promise<void> {
  let all = await scheduleStatus(ctx.home);
  if (name !== undefined) {
    all = all.filter((s) => s.schedule.name === name);
    if (all.length === 0) throw new AicoError('NOT_FOUND', `No schedule named "${name}".`);
  }
  ctx.out.result({ schedules: all }, () => (all.length === 0 ? 'No backup schedules. Create one: aico backup schedule create --frequency daily --time 02:00' : all.flatMap((s) => describeStatus(s, verbose)).join('\n')));
}

export async function runScheduleChange(ctx: RunContext, name: string | undefined, change: 'enable' | 'disable' | 'delete'): Promise<void> {
  const r = await changeSchedule(ctx.home, name, change);
  const verb = { enable: 'enabled', disable: 'disabled', delete: 'deleted' }[change];
  ctx.out.result({ schedule: r.schedule, change, next: r.next, timer: r.timer, notes: r.notes }, () =>
    [
      `Schedule "${r.schedule.name}" ${verb}.`,
      ...r.notes.map((n) => `  ${n}`),
      ...(r.next.length > 0 ? [`  next run ${when(r.next[0]!)}`] : []),
      ...(r.timer.removed.length > 0 ? ['  No schedule is enabled any more: the timer was removed.'] : []),
      ...(change === 'enable' && !r.timer.installed ? ['  Nothing runs it yet: aico backup schedule install'] : []),
    ].join('\n'),
  );
}

export async function runScheduleRunDue(ctx: RunContext, force: string[]): Promise<void> {
  const r = await runDue({ home: ctx.home, force }, { onEvent: (e) => ctx.out.event(e), signal: ctx.signal });
  const failed = r.runs.filter((x) => !x.ok);
  if (failed.length > 0) {
    const first = failed[0]!;
    throw new AicoError(first.error!.code as never, `Scheduled backup "${first.name}" failed: ${first.error!.message}${failed.length > 1 ? ` (and ${failed.length - 1} more)` : ''}`, {
      ...(first.error!.hint ? { hint: first.error!.hint } : {}),
      details: { runs: r.runs, not_due: r.not_due },
    });
  }
  ctx.out.result({ runs: r.runs, not_due: r.not_due, duration_ms: r.durationMs }, () =>
    r.runs.length === 0
      ? `No schedule is due${r.not_due.length ? ` (${r.not_due.join(', ')} not yet)` : ''}.`
      : r.runs
          .map((x) =>
            [
              `${x.name}: ${x.backup!.type} backup ${x.backup!.path} (${formatBytes(x.backup!.bytes)}, ${formatDuration(x.duration_ms)})`,
              x.cleanup ? `  cleanup removed ${x.cleanup.removed} backup(s), freed ${formatBytes(x.cleanup.bytes)}` : '',
              ...x.synced.map((y) => `  synced to ${y.to}: ${y.copied} copied, ${y.deleted} deleted${y.skipped ? `, ${y.skipped} damaged not copied` : ''}`),
              ...x.warnings.map((w) => `  warning ${w.code}: ${w.message}`),
            ]
              .filter(Boolean)
              .join('\n'),
          )
          .join('\n'),
  );
}

export async function runScheduleInstall(ctx: RunContext, flags: { method?: string; every?: string }): Promise<void> {
  const method = (flags.method ?? 'auto') as 'systemd' | 'cron' | 'auto';
  if (!['systemd', 'cron', 'auto'].includes(method)) throw new AicoError('USAGE', `--method is systemd, cron or auto (got "${flags.method}").`);
  const r = await installSchedule({ home: ctx.home, command: [process.execPath, path.resolve(process.argv[1]!)], method, ...(flags.every ? { every: flags.every } : {}) });
  if (!(await scheduleStatus(ctx.home)).some((s) => s.schedule.enabled)) r.notes.unshift('No schedule is enabled yet: the timer has nothing to run until you create one (aico backup schedule create).');
  ctx.out.result({ method: r.method, installed: r.installed, every: r.every, notes: r.notes }, () =>
    [`Installed ${r.method === 'systemd' ? 'a systemd user timer' : 'a crontab entry'} that runs "aico backup schedule run-due" every ${r.every}:`, ...r.installed.map((f) => `  ${f}`), ...r.notes.map((n) => `  note: ${n}`)].join('\n'),
  );
}

export async function runScheduleUninstall(ctx: RunContext): Promise<void> {
  const r = await uninstallSchedule({ home: ctx.home });
  ctx.out.result({ removed: r.removed }, () => (r.removed.length === 0 ? 'No timer was installed for this home.' : ['Removed:', ...r.removed.map((f) => `  ${f}`)].join('\n')));
}
