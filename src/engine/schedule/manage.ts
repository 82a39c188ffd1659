import { loadConfig } from '../config/load.js';
import { AicoError } from '../errors.js';
import type { Keyring } from '../keys/keyring.js';
import { localTimeZone } from '../retention/time-zone.js';
import type { Schedule, ScheduleInput } from './model.js';
import { schedulePassword } from './run-due.js';
import { freshState, readStates, writeStates } from './state.js';
import { pickSchedule, removeSchedule, saveSchedule, schedulesOf, setScheduleEnabled } from './store.js';
import { checkCron, cronOf, nextRuns } from './times.js';
import { installedMethod, uninstallSchedule, type InstallMethod } from './install.js';

export interface ScheduleChange {
  schedule: Schedule;
  /** The next three run times (enabled schedules). */
  next: string[];
  /** The installed timer: kept when a schedule is still enabled, removed with the last one. */
  timer: { installed: InstallMethod | null; removed: string[] };
  notes: string[];
}

/**
 * Adds a schedule to the home's core.yaml. Everything is checked before it is
 * saved: the fields, the cron expression, and (for an encrypted backup) that
 * an unattended run will have a password (a private password file, or one
 * stored in the keyring), since a run never prompts.
 */
export async function createSchedule(home: string, input: ScheduleInput, opts: { env?: NodeJS.ProcessEnv; keyring?: Keyring; now?: Date; replace?: boolean } = {}): Promise<ScheduleChange> {
  const { scheduleSchema } = await import('./model.js');
  const parsed = scheduleSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AicoError('USAGE', `Schedule ${issue.path.join('.') || 'field'}: ${issue.message}.`, { details: { field: issue.path.join('.') } });
  }
  const schedule = parsed.data;
  const timeZone = localTimeZone();
  await checkCron(cronOf(schedule), timeZone);
  const { backup: config } = await loadConfig(home);
  if (!opts.replace && schedulesOf(config).some((c) => c.schedule.name === schedule.name)) {
    throw new AicoError('USAGE', `A schedule named "${schedule.name}" exists already.`, { hint: 'Give another --name, replace it (--replace), or delete it first (aico backup schedule delete NAME).' });
  }
  if (schedule.encrypt ?? config.encrypt) {
    const password = await schedulePassword(schedule, opts);
    password.fill(0);
  }
  await saveSchedule(home, input, { replace: opts.replace ?? false });
  const now = opts.now ?? new Date();
  const states = await readStates(home);
  states[schedule.name] = { ...(states[schedule.name] ?? freshState(now)), created: now.toISOString() };
  await writeStates(home, states);
  return { schedule, next: (await nextRuns(cronOf(schedule), timeZone, now, 3)).map((d) => d.toISOString()), timer: await timerInStep(home), notes: [] };
}

export async function changeSchedule(home: string, name: string | undefined, change: 'enable' | 'disable' | 'delete', opts: { now?: Date } = {}): Promise<ScheduleChange> {
  const { backup: config } = await loadConfig(home);
  const target = pickSchedule(schedulesOf(config), name);
  const notes: string[] = [];
  if (change === 'delete') {
    await removeSchedule(home, target);
    if (target.from === 'schedule') notes.push('This was the schedule: block of core.yaml; it is switched off (enabled: false), not removed.');
    const states = await readStates(home);
    delete states[target.schedule.name];
    await writeStates(home, states);
  } else {
    await setScheduleEnabled(home, target, change === 'enable');
    if (change === 'enable') {
      // Enabled again: due from now on, not for every time it missed while off.
      const states = await readStates(home);
      states[target.schedule.name] = { ...(states[target.schedule.name] ?? freshState(opts.now ?? new Date())), created: (opts.now ?? new Date()).toISOString() };
      await writeStates(home, states);
    }
  }
  const schedule = { ...target.schedule, enabled: change === 'enable' };
  const next = change === 'enable' ? (await nextRuns(cronOf(schedule), localTimeZone(), opts.now ?? new Date(), 3)).map((d) => d.toISOString()) : [];
  return { schedule, next, timer: await timerInStep(home), notes };
}

/** With no enabled schedule left, the installed timer goes too; with one and no timer, the caller says how to install it. */
async function timerInStep(home: string): Promise<ScheduleChange['timer']> {
  const { backup } = await loadConfig(home);
  const enabled = schedulesOf(backup).some((c) => c.schedule.enabled);
  const installed = await installedMethod({ home });
  if (!enabled && installed) {
    const { removed } = await uninstallSchedule({ home });
    return { installed: null, removed };
  }
  return { installed, removed: [] };
}
