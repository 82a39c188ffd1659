import { loadConfig } from '../config/load.js';
import { localTimeZone } from '../retention/time-zone.js';
import type { Schedule } from './model.js';
import { readStates, type ScheduleState } from './state.js';
import { schedulesOf, type ConfiguredSchedule } from './store.js';
import { cronOf, lastScheduled, nextRuns } from './times.js';

/** A schedule whose first owed run is this late (no success since) is overdue: the timer did not run, or the runs failed. */
export const OVERDUE_AFTER_MS = 60 * 60 * 1000;

export interface ScheduleStatus {
  schedule: Schedule;
  from: ConfiguredSchedule['from'];
  cron: string;
  time_zone: string;
  /** The next three run times. */
  next: string[];
  /** The most recent scheduled time, and whether a run for it is still owed (due) and late (overdue). */
  last_scheduled: string;
  due: boolean;
  overdue: boolean;
  state: ScheduleState | null;
}

export async function scheduleStatus(home: string, opts: { now?: Date; timeZone?: string } = {}): Promise<ScheduleStatus[]> {
  const now = opts.now ?? new Date();
  const timeZone = opts.timeZone ?? localTimeZone();
  const { backup } = await loadConfig(home);
  const states = await readStates(home);
  return Promise.all(schedulesOf(backup).map(async ({ schedule, from }) => {
    const cron = cronOf(schedule);
    const state = states[schedule.name] ?? null;
    const slot = await lastScheduled(cron, timeZone, now);
    const since = state ? Math.max(Date.parse(state.created), state.last_success ? Date.parse(state.last_success) : 0) : now.getTime();
    const due = schedule.enabled && slot.getTime() > since;
    // Late counts from the first run owed, not the newest: an hourly schedule that has not run since 01:00 is late at 03:20.
    const firstOwed = due ? (await nextRuns(cron, timeZone, new Date(since), 1))[0]! : null;
    return {
      schedule,
      from,
      cron,
      time_zone: timeZone,
      next: (await nextRuns(cron, timeZone, now, 3)).map((d) => d.toISOString()),
      last_scheduled: slot.toISOString(),
      due,
      overdue: firstOwed !== null && now.getTime() - firstOwed.getTime() > OVERDUE_AFTER_MS,
      state,
    };
  }));
}
