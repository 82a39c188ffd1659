import type { KeepRules } from '../retention/policy.js';
import { formatSpan, parseSpan } from '../retention/duration.js';
import { AicoError } from '../errors.js';
import type { BackupConfig } from './schema.js';

/** Keep rules as typed on a command line (strings) or given by a form; left out means "not given". */
export interface RetentionFlags {
  keepLast?: string | number;
  keepHourly?: string | number;
  keepDaily?: string | number;
  keepWeekly?: string | number;
  keepMonthly?: string | number;
  keepYearly?: string | number;
  keepWithin?: string;
  keepSafety?: string | number;
}

const COUNTS = [
  ['keepLast', 'last', '--keep-last'],
  ['keepHourly', 'hourly', '--keep-hourly'],
  ['keepDaily', 'daily', '--keep-daily'],
  ['keepWeekly', 'weekly', '--keep-weekly'],
  ['keepMonthly', 'monthly', '--keep-monthly'],
  ['keepYearly', 'yearly', '--keep-yearly'],
] as const;

function count(value: string | number, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || String(value).trim() === '') throw new AicoError('USAGE', `${flag} takes a whole number of 0 or more (got "${value}").`);
  return n;
}

/**
 * The policy a cleanup applies: the rules given as flags replace the
 * configured `retention:` rules as a whole (as restic's forget has no
 * configured policy to merge with, mixing the two would surprise); with no
 * rule flag, the configured ones. The safety rule is separate: the flag, else
 * retention.keep_safety, else 3.
 */
export function keepRulesFrom(config: BackupConfig, flags: RetentionFlags): { rules: KeepRules; from: 'flags' | 'config' } {
  const given = COUNTS.some(([k]) => flags[k] !== undefined) || flags.keepWithin !== undefined;
  const rules: KeepRules = {};
  if (given) {
    for (const [k, rule, flag] of COUNTS) if (flags[k] !== undefined) rules[rule] = count(flags[k]!, flag);
    if (flags.keepWithin !== undefined) rules.within = parseSpan(flags.keepWithin);
  } else {
    const r = config.retention;
    const fromConfig = { last: r.keep_last, hourly: r.keep_hourly, daily: r.keep_daily, weekly: r.keep_weekly, monthly: r.keep_monthly, yearly: r.keep_yearly };
    for (const [rule, n] of Object.entries(fromConfig)) if (n !== undefined) rules[rule as keyof typeof fromConfig] = n;
    if (r.keep_within) rules.within = parseSpan(r.keep_within);
  }
  rules.safety = flags.keepSafety !== undefined ? count(flags.keepSafety, '--keep-safety') : (config.retention.keep_safety ?? 3);
  return { rules, from: given ? 'flags' : 'config' };
}

/** The rules that keep something, as a user would type them, for output: "--keep-daily 7 --keep-weekly 4". */
export function describeRules(rules: KeepRules): string {
  const parts: string[] = [];
  for (const [, rule, flag] of COUNTS) if (rules[rule]) parts.push(`${flag} ${rules[rule]}`);
  if (rules.within) {
    parts.push(`--keep-within ${formatSpan(rules.within)}`);
  }
  parts.push(`--keep-safety ${rules.safety ?? 3}`);
  return parts.join(' ');
}
