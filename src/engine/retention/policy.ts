import { AicoError } from '../errors.js';
import { formatSpan, isEmptySpan, spanStart, type Span } from './duration.js';

/**
 * Keep rules as restic's `forget` has them (docs/RETENTION.md, issue
 * "Retention"): ORed; per rule, the newest backup of each period is kept,
 * periods without a backup do not count, and a backup kept by one rule still
 * counts for the others.
 */
export interface KeepRules {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  /** Every backup this span before the newest backup (not before now). */
  within?: Span;
  /** Pre-restore safety backups kept apart from the rules above: the newest N (default 3). */
  safety?: number;
}

/** What the policy needs to know of a backup (list's BackupEntry has all of it). */
export interface PolicyBackup {
  name: string;
  id: string | null;
  created: string | null;
  parent_id: string | null;
  /** "backup", or "pre-restore" for a restore's safety backup. */
  purpose: string;
  /** Set when the archive could not be read: such a backup is never removed by a policy. */
  problem?: { code: string } | null;
}

/** Backups kept whatever the rules say, with the reason (e.g. cleanup's "newest backup that verifies"). */
export type Pinned = ReadonlyMap<string, string>;

export interface Decision<B extends PolicyBackup = PolicyBackup> {
  backup: B;
  keep: boolean;
  /** Why it is kept: which rule and period, or which kept backup needs it. Empty when it goes. */
  reasons: string[];
}

type Bucketed = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
const BUCKETED: Bucketed[] = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'];

/** The calendar fields of an instant in a time zone. */
function civil(date: Date, timeZone: string): { year: number; month: number; day: number; hour: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', hourCycle: 'h23' }).formatToParts(date);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour') };
}

/** ISO 8601 week of a calendar day: [week-year, week]. */
function isoWeek(year: number, month: number, day: number): [number, number] {
  const d = new Date(Date.UTC(year, month - 1, day));
  const weekday = (d.getUTCDay() + 6) % 7; // Monday 0
  d.setUTCDate(d.getUTCDate() - weekday + 3); // the Thursday of this week decides its year
  const weekYear = d.getUTCFullYear();
  const firstThursday = new Date(Date.UTC(weekYear, 0, 4));
  firstThursday.setUTCDate(firstThursday.getUTCDate() - ((firstThursday.getUTCDay() + 6) % 7) + 3);
  return [weekYear, 1 + Math.round((d.getTime() - firstThursday.getTime()) / (7 * 86_400_000))];
}

/** The period a backup falls in for a rule, named as the reasons show it. */
export function periodOf(rule: Bucketed, date: Date, timeZone: string): string {
  const c = civil(date, timeZone);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  switch (rule) {
    case 'hourly':
      return `${c.year}-${p(c.month)}-${p(c.day)} ${p(c.hour)}h`;
    case 'daily':
      return `${c.year}-${p(c.month)}-${p(c.day)}`;
    case 'weekly': {
      const [y, w] = isoWeek(c.year, c.month, c.day);
      return `${y}-W${p(w)}`;
    }
    case 'monthly':
      return `${c.year}-${p(c.month)}`;
    case 'yearly':
      return `${c.year}`;
  }
}

const hasRule = (r: KeepRules) => [r.last, r.hourly, r.daily, r.weekly, r.monthly, r.yearly].some((n) => (n ?? 0) > 0) || (r.within !== undefined && !isEmptySpan(r.within));

/**
 * Which backups a policy keeps, and why. Never removes: the newest ordinary
 * backup, a backup without a readable time (it cannot be placed), or any
 * backup a kept one builds on (its parent, and so on down to its full
 * backup). An empty policy is refused rather than read as "keep nothing".
 */
export function applyPolicy<B extends PolicyBackup>(backups: readonly B[], rules: KeepRules, timeZone: string, pinned: Pinned = new Map()): Decision<B>[] {
  if (!hasRule(rules)) {
    throw new AicoError('USAGE', 'The retention policy keeps nothing (no keep rule above 0); refusing to remove every backup.', {
      hint: 'Give at least one rule, e.g. --keep-last 5 or --keep-daily 7, or set retention: in core.yaml.',
    });
  }
  const time = (b: B) => (b.created ? Date.parse(b.created) : Number.NaN);
  const sorted = [...backups].sort((a, b) => (time(b) || 0) - (time(a) || 0) || b.name.localeCompare(a.name));
  const decisions = new Map<B, Decision<B>>(sorted.map((b) => [b, { backup: b, keep: false, reasons: [] }]));
  const keep = (b: B, reason: string) => {
    const d = decisions.get(b)!;
    d.keep = true;
    d.reasons.push(reason);
  };
  const ordinary = sorted.filter((b) => b.purpose !== 'pre-restore' && !Number.isNaN(time(b)) && !b.problem);
  for (const b of sorted) {
    if (b.problem) keep(b, `unreadable (${b.problem.code}): never removed by a policy, delete it by hand`);
    else if (Number.isNaN(time(b))) keep(b, 'no readable creation time');
  }
  if (ordinary[0]) keep(ordinary[0], 'newest backup');
  ordinary.slice(0, rules.last ?? 0).forEach((b, i) => keep(b, `last ${i + 1} of ${rules.last}`));
  for (const rule of BUCKETED) {
    const want = rules[rule] ?? 0;
    let seen: string | null = null;
    let kept = 0;
    for (const b of ordinary) {
      if (kept >= want) break;
      const period = periodOf(rule, new Date(time(b)), timeZone);
      if (period === seen) continue;
      seen = period;
      kept++;
      keep(b, `${rule} ${period}`);
    }
  }
  if (rules.within && !isEmptySpan(rules.within) && ordinary[0]) {
    const from = spanStart(new Date(time(ordinary[0])), rules.within).getTime();
    for (const b of ordinary) if (time(b) >= from) keep(b, `within ${formatSpan(rules.within)} of the newest`);
  }
  sorted
    .filter((b) => b.purpose === 'pre-restore')
    .slice(0, rules.safety ?? 3)
    .forEach((b, i) => keep(b, `safety backup ${i + 1} of ${rules.safety ?? 3}`));
  for (const b of sorted) {
    const why = pinned.get(b.name);
    if (why) keep(b, why);
  }
  // Chains: what a kept backup builds on is kept, down to its full backup.
  const byId = new Map(sorted.filter((b) => b.id).map((b) => [b.id!, b]));
  for (const b of sorted) {
    if (!decisions.get(b)!.keep) continue;
    const seenIds = new Set<string>();
    for (let link = b; link.parent_id && !seenIds.has(link.parent_id); ) {
      seenIds.add(link.parent_id);
      const parent = byId.get(link.parent_id);
      if (!parent) break;
      const d = decisions.get(parent)!;
      if (!d.reasons.includes(`parent of ${link.name}`)) keep(parent, `parent of ${link.name}`);
      link = parent;
    }
  }
  return sorted.map((b) => decisions.get(b)!);
}
