import { AicoError } from '../errors.js';

/** A calendar span as restic's --keep-within takes it: "1y5m7d2h". */
export interface Span {
  years: number;
  months: number;
  days: number;
  hours: number;
}

const SPAN_RE = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?(?:(\d+)h)?$/;

export function parseSpan(text: string): Span {
  const m = SPAN_RE.exec(text.trim());
  if (!m || text.trim() === '') {
    throw new AicoError('USAGE', `"${text}" is not a duration.`, {
      hint: 'Give years, months, days and hours in that order, each optional: 2d, 36h, 1y6m, 1y5m7d2h (as restic --keep-within).',
    });
  }
  const [years, months, days, hours] = m.slice(1).map((g) => Number(g ?? 0)) as [number, number, number, number];
  return { years, months, days, hours };
}

export const isEmptySpan = (s: Span) => s.years + s.months + s.days + s.hours === 0;

/**
 * The start of the window a span covers, ending at `end`: calendar years,
 * months and days back (in UTC, so a DST change does not move it by an hour),
 * then hours.
 */
export function spanStart(end: Date, s: Span): Date {
  const d = new Date(end.getTime());
  d.setUTCFullYear(d.getUTCFullYear() - s.years, d.getUTCMonth() - s.months, d.getUTCDate() - s.days);
  return new Date(d.getTime() - s.hours * 3_600_000);
}

export const formatSpan = (s: Span) =>
  (['years', 'months', 'days', 'hours'] as const)
    .filter((k) => s[k] > 0)
    .map((k) => `${s[k]}${k[0]}`)
    .join('') || '0h';
