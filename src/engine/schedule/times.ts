import { AicoError } from '../errors.js';
import { WEEKDAYS } from './constants.js';
import type { Schedule } from './model.js';

/** The schedule as a cron expression (minute hour day-of-month month day-of-week), in local time. */
export function cronOf(s: Pick<Schedule, 'cron' | 'frequency' | 'time' | 'day' | 'day_of_month'>): string {
  if (s.cron !== undefined) return s.cron.trim();
  const [hour, minute] = (s.time ?? '02:00').split(':').map(Number) as [number, number];
  switch (s.frequency) {
    case 'weekly':
      return `${minute} ${hour} * * ${WEEKDAYS.indexOf(s.day ?? 'sunday')}`;
    case 'monthly':
      return `${minute} ${hour} ${s.day_of_month ?? 1} * *`;
    default:
      return `${minute} ${hour} * * *`;
  }
}

// cron-parser (and luxon under it) is loaded when a schedule is looked at, not at every start of the CLI.
async function parse(expression: string, timeZone: string, currentDate: Date) {
  const { CronExpressionParser } = await import('cron-parser');
  try {
    return CronExpressionParser.parse(expression, { currentDate, tz: timeZone, strict: false });
  } catch (error) {
    throw new AicoError('USAGE', `The cron expression "${expression}" is not valid: ${(error as Error).message}.`, {
      hint: 'Five fields: minute (0-59) hour (0-23) day-of-month (1-31) month (1-12) day-of-week (0-7, 0 and 7 are Sunday), e.g. --cron "0 2 * * *" for 02:00 every day.',
      details: { field: 'cron', expression },
    });
  }
}

/** Refuses an expression cron-parser cannot read, before a schedule is saved. */
export async function checkCron(expression: string, timeZone: string): Promise<void> {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw new AicoError('USAGE', `The cron expression "${expression}" has ${fields.length} field(s); it needs 5.`, {
      hint: 'minute hour day-of-month month day-of-week, e.g. "0 2 * * *" (02:00 every day) or "30 3 * * 0" (03:30 on Sundays).',
      details: { field: 'cron', expression },
    });
  }
  (await parse(expression, timeZone, new Date())).next();
}

/** The next `n` run times after `from`. */
export async function nextRuns(expression: string, timeZone: string, from: Date, n: number): Promise<Date[]> {
  const it = await parse(expression, timeZone, from);
  return Array.from({ length: n }, () => it.next().toDate());
}

/** The most recent scheduled time at or before `now` (a run due now counts). */
export async function lastScheduled(expression: string, timeZone: string, now: Date): Promise<Date> {
  // cron-parser's prev() is strictly before currentDate: start a millisecond later so a run due right now counts.
  return (await parse(expression, timeZone, new Date(now.getTime() + 1))).prev().toDate();
}
