import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createOptionsFrom } from '../config/create-options.js';
import { loadConfig } from '../config/load.js';
import { keepRulesFrom } from '../config/retention-options.js';
import type { BackupConfig } from '../config/schema.js';
import type { Warning } from '../codes.js';
import { AicoError, isAicoError } from '../errors.js';
import { nestedContext, noopSink, type EngineEvent, type OperationContext } from '../events.js';
import { ensurePrivateDir } from '../fsutil/atomic-file.js';
import { acquireDirLock } from '../fsutil/lock.js';
import type { Keyring } from '../keys/keyring.js';
import { cleanup } from '../ops/cleanup.js';
import { createBackup as create } from '../ops/create-remote.js';
import { sync } from '../ops/sync.js';
import { isRemote, storeFor } from '../store/index.js';
import type { RequestedType } from '../ops/create-type.js';
import { list } from '../ops/list.js';
import { givenPassword } from '../ops/password.js';
import { periodOf } from '../retention/policy.js';
import { localTimeZone } from '../retention/time-zone.js';
import { appendBackupLog } from './log.js';
import type { Schedule } from './model.js';
import { readStates, writeStates, freshState, type ScheduleState } from './state.js';
import { schedulesOf } from './store.js';
import { cronOf, lastScheduled } from './times.js';

/** The scheduler's lock, in the home's data directory: two run-due never overlap. */
export const SCHEDULE_LOCK = '.aico-schedule.lock';

export interface RunDueOptions {
  home: string;
  /** Run these schedules now, due or not ("run now"); they are run even when disabled. */
  force?: string[];
  /** Unit tests only: another clock. */
  now?: Date;
  timeZone?: string;
  env?: NodeJS.ProcessEnv;
  keyring?: Keyring;
  /** Tests only: a cheaper KDF. */
  kdfIterations?: number;
}

export interface ScheduleRun {
  name: string;
  /** The scheduled time this run stands for (missed runs collapse into one); null for a forced run that was not due. */
  scheduled_for: string | null;
  ok: boolean;
  backup: { path: string; type: string; bytes: number; files: number } | null;
  cleanup: { removed: number; bytes: number } | null;
  /** Per sync_to place: what the sync after the backup copied and deleted; a failed one is a SYNC_FAILED warning. */
  synced: { to: string; copied: number; skipped: number; deleted: number }[];
  warnings: Warning[];
  error: { code: string; message: string; hint?: string } | null;
  duration_ms: number;
}

export interface RunDueResult {
  /** The schedules that ran, in configuration order; empty when none was due. */
  runs: ScheduleRun[];
  /** Enabled schedules that were not due. */
  not_due: string[];
  durationMs: number;
}

/**
 * Runs every enabled schedule whose most recent scheduled time is later than
 * its last success (and than its creation): a laptop that was off at 02:00
 * backs up when this next runs, once, however many runs it missed. Each run
 * makes the backup, then applies the retention policy, under the output
 * directory's lock; the attempt is recorded before it starts and only a
 * success moves the schedule on. No prompt: the password comes from the
 * schedule's password file or the stored backup password.
 */
export async function runDue(opts: RunDueOptions, ctx: OperationContext = {}): Promise<RunDueResult> {
  const started = Date.now();
  const emit = ctx.onEvent ?? noopSink;
  const now = opts.now ?? new Date();
  const timeZone = opts.timeZone ?? localTimeZone();
  emit({ type: 'start', op: 'schedule', path: opts.home });
  const { backup: config } = await loadConfig(opts.home);
  const all = schedulesOf(config).map((c) => c.schedule);
  for (const name of opts.force ?? []) {
    if (!all.some((s) => s.name === name)) throw new AicoError('NOT_FOUND', `No schedule named "${name}".`);
  }
  const dataDir = path.join(opts.home, 'data');
  await ensurePrivateDir(dataDir);
  const lock = await acquireDirLock(dataDir, 'schedule run-due', SCHEDULE_LOCK);
  try {
    const states = await readStates(opts.home);
    const runs: ScheduleRun[] = [];
    const notDue: string[] = [];
    for (const schedule of all) {
      const forced = opts.force?.includes(schedule.name) ?? false;
      if (!schedule.enabled && !forced) continue;
      const state = (states[schedule.name] ??= freshState(now));
      const slot = await lastScheduled(cronOf(schedule), timeZone, now);
      const since = Math.max(Date.parse(state.created), state.last_success ? Date.parse(state.last_success) : 0);
      const due = schedule.enabled && slot.getTime() > since;
      if (!due && !forced) {
        notDue.push(schedule.name);
        continue;
      }
      state.last_attempt = (opts.now ?? new Date()).toISOString();
      await writeStates(opts.home, states);
      const run = await runOne(schedule, config, { ...opts, timeZone }, due ? slot : null, ctx);
      runs.push(run);
      recordOutcome(state, run);
      await writeStates(opts.home, states);
      await appendBackupLog(opts.home, new Date(), {
        schedule: run.name,
        outcome: run.ok ? 'ok' : 'failed',
        scheduled_for: run.scheduled_for,
        backup: run.backup?.path,
        type: run.backup?.type,
        bytes: run.backup?.bytes,
        files: run.backup?.files,
        removed: run.cleanup?.removed,
        freed: run.cleanup?.bytes,
        warnings: run.warnings.length > 0 ? run.warnings.map((w) => w.code).join(',') : undefined,
        code: run.error?.code,
        error: run.error?.message,
        duration_ms: run.duration_ms,
      });
    }
    const durationMs = Date.now() - started;
    emit({ type: 'summary', op: 'schedule', ok: runs.every((r) => r.ok), durationMs });
    return { runs, not_due: notDue, durationMs };
  } finally {
    await lock.release();
  }
}

function recordOutcome(state: ScheduleState, run: ScheduleRun): void {
  state.last_outcome = run.ok ? 'ok' : 'failed';
  state.last_error = run.error ? { code: run.error.code, message: run.error.message } : null;
  if (run.ok) {
    state.last_success = state.last_attempt;
    state.last_backup = run.backup?.path ?? null;
  }
}

async function runOne(schedule: Schedule, config: BackupConfig, opts: RunDueOptions & { timeZone: string }, slot: Date | null, ctx: OperationContext): Promise<ScheduleRun> {
  const started = Date.now();
  const warnings: Warning[] = [];
  const run: ScheduleRun = { name: schedule.name, scheduled_for: slot?.toISOString() ?? null, ok: false, backup: null, cleanup: null, synced: [], warnings, error: null, duration_ms: 0 };
  // The create's warnings are the run's too: kept for the result and the log line, and passed on.
  const collect = (e: EngineEvent) => {
    if (e.type === 'warning') warnings.push({ code: e.code, message: e.message });
    ctx.onEvent?.(e);
  };
  const nested = nestedContext({ ...ctx, onEvent: collect }, 'schedule', 'create');
  try {
    const { options, warnings: planWarnings } = createOptionsFrom(
      config,
      {
        output: schedule.output_dir,
        encrypt: schedule.encrypt,
        compression: schedule.compression,
        compressionLevel: schedule.compression_level,
        include: schedule.include,
        exclude: schedule.exclude,
      },
      { home: opts.home },
    );
    warnings.push(...planWarnings);
    const password = options.encrypt ? await schedulePassword(schedule, opts) : null;
    const backupType = await typeFor(schedule, options.outputDir, opts.timeZone, opts.now ?? new Date());
    const lock = await acquireOutputLock(options.outputDir);
    try {
      const made = await create(
        { ...options, backupType, lock, password: password ? async () => Buffer.from(password) : undefined, ...(opts.now ? { now: opts.now } : {}), ...(opts.env ? { env: opts.env } : {}), ...(opts.keyring ? { keyring: opts.keyring } : {}), ...(opts.kdfIterations ? { kdfIterations: opts.kdfIterations } : {}) },
        nested,
      );
      warnings.push(...made.warnings.filter((w) => !warnings.some((x) => x.code === w.code && x.message === w.message)));
      run.backup = { path: made.backup.path, type: made.backup.type, bytes: made.backup.bytes, files: made.backup.files };
      run.ok = true;
      if (schedule.cleanup) {
        try {
          const retention = schedule.retention ? { ...config, retention: schedule.retention } : config;
          const { rules } = keepRulesFrom(retention, {});
          const r = await cleanup({ dir: options.outputDir, rules, timeZone: opts.timeZone, lock, password: password ? async () => Buffer.from(password) : undefined }, nestedContext(ctx, 'schedule', 'cleanup'));
          run.cleanup = { removed: r.removed, bytes: r.bytes };
        } catch (error) {
          warnings.push({ code: 'CLEANUP_FAILED', message: `The backup was made; cleaning up after it failed: ${(error as Error).message}` });
        }
      }
      for (const to of schedule.sync_to ?? []) {
        try {
          const r = await sync({ from: options.outputDir, to, delete: schedule.cleanup }, nestedContext(ctx, 'schedule', 'sync'));
          const count = (action: string) => r.backups.filter((b) => b.action === action).length;
          run.synced.push({ to: r.to, copied: count('copied'), skipped: count('skipped'), deleted: count('deleted') });
          const damaged = r.backups.filter((b) => b.action === 'skipped').map((b) => b.name);
          if (damaged.length) {
            warnings.push({ code: 'SYNC_DAMAGED', message: `Not copied to ${r.to}, damaged in ${r.from}: ${damaged.join(', ')}. Check them with aico backup verify.` });
          }
        } catch (error) {
          warnings.push({ code: 'SYNC_FAILED', message: `The backup was made; copying it to ${to} failed: ${(error as Error).message}` });
        }
      }
    } finally {
      await lock.release();
      password?.fill(0);
    }
  } catch (error) {
    run.error = isAicoError(error)
      ? { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) }
      : { code: 'INTERNAL', message: `Unexpected error: ${(error as Error).message}` };
  }
  run.duration_ms = Date.now() - started;
  return run;
}

async function acquireOutputLock(dir: string) {
  if (!isRemote(dir)) await ensurePrivateDir(dir);
  return storeFor(dir).lock('schedule run-due');
}

/**
 * The backup password without a prompt: the schedule's password file (which
 * must be readable by its owner only), else $AICO_BACKUP_PASSWORD, else the
 * password stored with `aico backup password set`.
 */
export async function schedulePassword(schedule: Schedule, opts: { env?: NodeJS.ProcessEnv; keyring?: Keyring }): Promise<Buffer> {
  if (schedule.password_file) await checkPrivateFile(schedule.password_file);
  const given = await givenPassword({ ...(schedule.password_file ? { file: schedule.password_file } : {}), stored: true, ...(opts.env ? { env: opts.env } : {}), ...(opts.keyring ? { keyring: opts.keyring } : {}) });
  if (!given || given.password.length === 0) {
    throw new AicoError('PASSWORD_REQUIRED', `The schedule "${schedule.name}" makes encrypted backups and has no password source: no password file, and no password stored in the keyring.`, {
      hint: 'Store one with "aico backup password set", or give the schedule a password file readable only by you (chmod 600): aico backup schedule create --password-file FILE.',
    });
  }
  return given.password;
}

/** A password file others can read is refused: an unattended backup must not make the password public. */
export async function checkPrivateFile(file: string): Promise<void> {
  const st = await fs.stat(file).catch((error: NodeJS.ErrnoException) => {
    throw new AicoError(error.code === 'ENOENT' ? 'NOT_FOUND' : 'IO_ERROR', `Cannot read the password file ${file}: ${error.message}`);
  });
  if ((st.mode & 0o077) !== 0) {
    throw new AicoError('USAGE', `The password file ${file} can be read by others (mode ${(st.mode & 0o777).toString(8)}).`, {
      hint: `Make it private: chmod 600 ${file}`,
    });
  }
}

/**
 * What a scheduled run makes. A full backup when the type says so, when the
 * output directory has no full backup yet, or when full_every's period
 * (ISO week, month) has none yet; otherwise the type, with "incremental"
 * falling back to a full backup when there is nothing to build on.
 */
async function typeFor(schedule: Schedule, outputDir: string, timeZone: string, now: Date): Promise<RequestedType> {
  if (schedule.type === 'full') return 'full';
  const { backups } = await list({ dir: outputDir });
  const newestFull = backups.find((b) => b.type === 'full' && b.purpose === 'backup' && !b.problem && b.created);
  if (!newestFull) return 'full';
  if (schedule.full_every !== 'never') {
    const rule = schedule.full_every;
    if (periodOf(rule, new Date(newestFull.created!), timeZone) !== periodOf(rule, now, timeZone)) return 'full';
  }
  return schedule.type === 'differential' ? 'differential' : 'auto';
}
