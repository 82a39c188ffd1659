import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, replaceFile } from '../fsutil/atomic-file.js';

/** What the scheduler remembers of each schedule; attempts and successes apart, so only a success moves a schedule on. */
export interface ScheduleState {
  /** When the schedule was created: a run is due only for scheduled times after it. */
  created: string;
  last_attempt: string | null;
  last_outcome: 'ok' | 'failed' | null;
  last_success: string | null;
  /** The archive the last successful run wrote. */
  last_backup: string | null;
  last_error: { code: string; message: string } | null;
}

/** The scheduler's own file, beside the home's data: not configuration, and rewritten on every run. */
export const stateFile = (home: string) => path.join(home, 'data', 'backup-schedules.json');

export async function readStates(home: string): Promise<Record<string, ScheduleState>> {
  try {
    const doc = JSON.parse(await fs.readFile(stateFile(home), 'utf8')) as { schedules?: Record<string, ScheduleState> };
    return doc.schedules ?? {};
  } catch {
    // Missing or unreadable: every schedule starts afresh (at worst one run more, never one less).
    return {};
  }
}

export async function writeStates(home: string, states: Record<string, ScheduleState>): Promise<void> {
  await ensurePrivateDir(path.dirname(stateFile(home)));
  await replaceFile(stateFile(home), `${JSON.stringify({ version: 1, schedules: states }, null, 2)}\n`);
}

export function freshState(now: Date): ScheduleState {
  return { created: now.toISOString(), last_attempt: null, last_outcome: null, last_success: null, last_backup: null, last_error: null };
}
