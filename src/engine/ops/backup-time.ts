import { AicoError } from '../errors.js';

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/;
/** How far ahead of the clock a given time may be (clocks of two machines disagree a little). */
const FUTURE_SLACK_MS = 60_000;

/**
 * The time a backup is recorded with, as `restic backup --time` takes it:
 * "YYYY-MM-DD HH:MM[:SS]" in the local time zone. A wall time that does not
 * exist (skipped by a DST change) or lies in the future is refused: retention
 * would keep a future backup as the newest one for ever.
 */
export function parseBackupTime(text: string, now: Date = new Date()): Date {
  const m = TIME_RE.exec(text.trim());
  const bad = (why: string) =>
    new AicoError('USAGE', `--time "${text}" ${why}.`, { hint: 'Give the local time as "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS", e.g. --time "2026-03-29 02:00".' });
  if (!m) throw bad('is not a time');
  const [y, mo, d, h, mi, s] = m.slice(1).map((g) => Number(g ?? 0)) as [number, number, number, number, number, number];
  const date = new Date(y, mo - 1, d, h, mi, s);
  const same = date.getFullYear() === y && date.getMonth() === mo - 1 && date.getDate() === d && date.getHours() === h && date.getMinutes() === mi && date.getSeconds() === s;
  const calendar = mo >= 1 && mo <= 12 && d >= 1 && d <= new Date(Date.UTC(y, mo, 0)).getUTCDate() && h <= 23 && mi <= 59 && s <= 59;
  if (!calendar) throw bad('is not a valid date and time');
  if (!same) throw bad('does not exist in the local time zone (a daylight saving change skips it)');
  if (date.getTime() > now.getTime() + FUTURE_SLACK_MS) throw bad('is in the future');
  return date;
}
