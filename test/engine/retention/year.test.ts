import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import type { CreateOptions, KeepRules } from '../../../src/engine/index.js';
import { tempDir } from '../../helpers.js';

// The built engine (npm test builds first): 365 creates start 365 sets of hashing and reading workers,
// and a worker that loads the sources through tsx first takes 250 ms to start where a built one takes 30.
const DIST = new URL('../../../dist/engine/index.js', import.meta.url).href;
const { cleanup, create, list, restore } = (await import(DIST)) as typeof import('../../../src/engine/index.js');

/**
 * A year of history as the issue describes it: a backup every day of 2026 at
 * 00:30 in Zurich, a full one on Mondays (and on 1 January), an incremental
 * on the day before otherwise. Each backup's config holds its day, so a
 * restore shows which point it brought back.
 */
const dir = tempDir('aico-year-');
const home = path.join(dir, 'home');
const year = path.join(dir, 'year');

const pad = (n: number) => String(n).padStart(2, '0');
const DAYS: string[] = [];
for (let d = new Date(Date.UTC(2026, 0, 1)); d.getUTCFullYear() === 2026; d.setUTCDate(d.getUTCDate() + 1)) {
  DAYS.push(`${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`);
}
const weekday = (day: string) => (new Date(`${day}T12:00:00Z`).getUTCDay() + 6) % 7; // Monday 0
/** Zurich is UTC+2 from 29 March 01:00 UTC to 25 October 01:00 UTC in 2026; 00:30 local falls on the day's own offset. */
const instant = (day: string) => new Date(Date.parse(`${day}T00:30:00Z`) - (day > '2026-03-29' && day <= '2026-10-25' ? 2 : 1) * 3_600_000);
const isFull = (day: string) => day === DAYS[0] || weekday(day) === 0;

const base = (): CreateOptions => ({
  home, outputDir: year, encrypt: false, compression: 'zstd', compressionLevel: 1, include: ['config'], exclude: [],
});
const nameOf = new Map<string, string>();

before(async () => {
  await fs.mkdir(path.join(home, 'config'), { recursive: true });
  await fs.writeFile(path.join(home, 'config', 'settings.yaml'), 'unchanged: all year\n');
  for (const day of DAYS) {
    await fs.writeFile(path.join(home, 'config', 'day.yaml'), `day: ${day}\n`);
    const { backup } = await create({ ...base(), now: instant(day), backupType: isFull(day) ? 'full' : 'incremental' });
    nameOf.set(day, path.basename(backup.path));
  }
});

/** The days a kept day needs: back to its week's Monday (its full backup), or 1 January. */
function chainOf(day: string): string[] {
  const i = DAYS.indexOf(day);
  let j = i;
  while (!isFull(DAYS[j]!)) j--;
  return DAYS.slice(j, i + 1);
}

/** The expectation, from the rules as stated (not from the implementation): the days kept, closed over chains. */
function expected(byRule: string[]): string[] {
  return [...new Set(byRule.flatMap(chainOf))].sort();
}

async function runPolicy(rules: KeepRules, label: string) {
  const copy = path.join(dir, label);
  await fs.cp(year, copy, { recursive: true });
  const before = (await fs.readdir(copy)).sort();
  const dry = await cleanup({ dir: copy, rules, timeZone: 'Europe/Zurich', dryRun: true });
  assert.deepEqual((await fs.readdir(copy)).sort(), before, 'a dry run removes nothing');
  const real = await cleanup({ dir: copy, rules, timeZone: 'Europe/Zurich' });
  assert.deepEqual(dry.backups.map((b) => [b.name, b.keep]), real.backups.map((b) => [b.name, b.keep]), 'the dry run said what the cleanup did');
  return { copy, real, left: (await fs.readdir(copy)).filter((n) => n.startsWith('aico-backup-')).sort() };
}

/** Every backup left is a restore point that restores: each with its own day's config. */
async function assertRestorable(copy: string) {
  const dayOf = new Map([...nameOf].map(([day, name]) => [name, day]));
  const days = (await fs.readdir(copy)).filter((n) => dayOf.has(n)).map((n) => dayOf.get(n)!);
  const { backups } = await list({ dir: copy });
  assert.ok(backups.every((b) => b.chain_intact !== false), 'no chain is broken');
  for (const day of days) {
    const target = path.join(dir, `restored-${path.basename(copy)}-${day}`);
    await restore({ path: path.join(copy, nameOf.get(day)!), home, target, safetyBackupDir: null });
    assert.equal(await fs.readFile(path.join(target, 'config', 'day.yaml'), 'utf8'), `day: ${day}\n`, `restore point ${day}`);
  }
}

const names = (days: string[]) => days.map((d) => nameOf.get(d)!).sort();

describe('a year of daily backups (fulls on Mondays) under each policy', () => {
  test('the seed: --keep-daily 7 --keep-weekly 4 --keep-monthly 6', async () => {
    // Daily: the last 7 days. Weekly: the newest of ISO weeks 2026-W53 (28 Dec - 3 Jan, newest 31 Dec), W52, W51, W50
    // (their Sundays). Monthly: the last day of each of the last six months.
    const byRule = [
      '2026-12-25', '2026-12-26', '2026-12-27', '2026-12-28', '2026-12-29', '2026-12-30', '2026-12-31',
      '2026-12-27', '2026-12-20', '2026-12-13',
      '2026-11-30', '2026-10-31', '2026-09-30', '2026-08-31', '2026-07-31',
    ];
    const { copy, real, left } = await runPolicy({ daily: 7, weekly: 4, monthly: 6 }, 'seed-policy');
    assert.deepEqual(left, names(expected(byRule)));
    assert.equal(real.verified, nameOf.get('2026-12-31'));
    // The reasons name the rule and period, or the kept backup that needs it.
    const reasons = new Map(real.backups.map((b) => [b.name, b.reasons]));
    assert.deepEqual(reasons.get(nameOf.get('2026-10-31')!), ['monthly 2026-10']);
    assert.deepEqual(reasons.get(nameOf.get('2026-10-26')!), [`parent of ${nameOf.get('2026-10-27')}`]);
    assert.ok(reasons.get(nameOf.get('2026-12-31')!)!.includes('weekly 2026-W53'));
    await assertRestorable(copy);
  });

  test('the seed: --keep 5 keeps the last five days and the chain they stand on', async () => {
    const byRule = ['2026-12-27', '2026-12-28', '2026-12-29', '2026-12-30', '2026-12-31'];
    const { copy, left } = await runPolicy({ last: 5 }, 'keep-5');
    // 27 December is a Sunday: its chain goes back to Monday 21 December.
    assert.deepEqual(left, names(expected(byRule)));
    assert.equal(left.length, 5 + 6);
    await assertRestorable(copy);
  });

  test('--keep-within 1m: every backup within a month of the newest one, whatever the date today', async () => {
    // Newest: 31 December 00:30 in Zurich; a month before it is 1 December 00:30 there.
    const byRule = DAYS.filter((d) => d >= '2026-12-01');
    const { copy, left } = await runPolicy({ within: { years: 0, months: 1, days: 0, hours: 0 } }, 'within');
    assert.deepEqual(left, names(expected(byRule)));
    await assertRestorable(copy);
  });

  test('--keep-yearly 2 --keep-monthly 2 --keep-safety 0: a year that has one backup kept counts once', async () => {
    const byRule = ['2026-12-31', '2026-11-30'];
    const { copy, left } = await runPolicy({ yearly: 2, monthly: 2, safety: 0 }, 'yearly');
    assert.deepEqual(left, names(expected(byRule)));
    await assertRestorable(copy);
  });
});
