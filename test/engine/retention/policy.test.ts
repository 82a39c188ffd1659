import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAicoError } from '../../../src/engine/errors.js';
import { applyPolicy, periodOf, type PolicyBackup } from '../../../src/engine/retention/policy.js';
import { parseSpan, spanStart } from '../../../src/engine/retention/duration.js';

const ZURICH = 'Europe/Zurich';
let n = 0;
const at = (created: string, over: Partial<PolicyBackup> = {}): PolicyBackup => ({ name: `b${++n}-${created}`, id: `id-${created}`, created, parent_id: null, purpose: 'backup', ...over });
const kept = (decisions: ReturnType<typeof applyPolicy>) => decisions.filter((d) => d.keep).map((d) => d.backup.created);

describe('periods in an explicit time zone', () => {
  test('DST starts in Zurich on 2026-03-29: 00:30 local (23:30 UTC the day before) and 03:30 local are one day', () => {
    assert.equal(periodOf('daily', new Date('2026-03-28T23:30:00Z'), ZURICH), '2026-03-29');
    assert.equal(periodOf('daily', new Date('2026-03-29T01:30:00Z'), ZURICH), '2026-03-29');
    assert.equal(periodOf('daily', new Date('2026-03-28T23:30:00Z'), 'UTC'), '2026-03-28');
    assert.equal(periodOf('hourly', new Date('2026-03-29T01:30:00Z'), ZURICH), '2026-03-29 03h');
  });

  test('a backup at 00:00 on the 1st belongs to the new month there, and the 31st to the old one', () => {
    assert.equal(periodOf('monthly', new Date('2026-03-31T22:00:00Z'), ZURICH), '2026-04');
    assert.equal(periodOf('monthly', new Date('2026-03-31T21:59:59Z'), ZURICH), '2026-03');
    assert.equal(periodOf('yearly', new Date('2026-12-31T23:00:00Z'), ZURICH), '2027');
  });

  test('ISO weeks: 2026 has a week 53, which ends on Sunday 2027-01-03', () => {
    assert.equal(periodOf('weekly', new Date('2026-12-31T12:00:00Z'), 'UTC'), '2026-W53');
    assert.equal(periodOf('weekly', new Date('2027-01-03T12:00:00Z'), 'UTC'), '2026-W53');
    assert.equal(periodOf('weekly', new Date('2027-01-04T12:00:00Z'), 'UTC'), '2027-W01');
    assert.equal(periodOf('weekly', new Date('2026-01-01T12:00:00Z'), 'UTC'), '2026-W01');
  });
});

describe('keep rules', () => {
  test('keep-daily: the newest backup of each day, days without a backup do not count', () => {
    const backups = ['2026-03-27T08:00:00Z', '2026-03-28T23:30:00Z', '2026-03-29T01:30:00Z', '2026-03-29T10:00:00Z', '2026-04-02T08:00:00Z'].map((t) => at(t));
    assert.deepEqual(kept(applyPolicy(backups, { daily: 3 }, ZURICH)), ['2026-04-02T08:00:00Z', '2026-03-29T10:00:00Z', '2026-03-27T08:00:00Z']);
    // In UTC 23:30 on the 28th is its own day.
    assert.deepEqual(kept(applyPolicy(backups, { daily: 3 }, 'UTC')), ['2026-04-02T08:00:00Z', '2026-03-29T10:00:00Z', '2026-03-28T23:30:00Z']);
  });

  test('rules are ORed, each with its reason; keep-within counts from the newest backup, not from now', () => {
    const backups = ['2026-01-10T00:00:00Z', '2026-02-10T00:00:00Z', '2026-03-01T00:00:00Z', '2026-03-05T00:00:00Z', '2026-03-06T00:00:00Z'].map((t) => at(t));
    const d = applyPolicy(backups, { last: 1, monthly: 2, within: { years: 0, months: 0, days: 2, hours: 0 } }, 'UTC');
    assert.deepEqual(
      d.map((x) => [x.backup.created, x.keep, x.reasons]),
      [
        ['2026-03-06T00:00:00Z', true, ['newest backup', 'last 1 of 1', 'monthly 2026-03', 'within 2d of the newest']],
        ['2026-03-05T00:00:00Z', true, ['within 2d of the newest']],
        ['2026-03-01T00:00:00Z', false, []],
        ['2026-02-10T00:00:00Z', true, ['monthly 2026-02']],
        ['2026-01-10T00:00:00Z', false, []],
      ],
    );
  });

  test('a kept incremental keeps its whole chain, with the reason; nothing a kept backup needs goes', () => {
    const full = at('2026-05-01T00:00:00Z');
    const i1 = at('2026-05-02T00:00:00Z', { parent_id: full.id });
    const i2 = at('2026-05-03T00:00:00Z', { parent_id: i1.id });
    const old = at('2026-04-01T00:00:00Z');
    const d = applyPolicy([old, full, i1, i2], { last: 1 }, 'UTC');
    assert.deepEqual(
      d.map((x) => [x.backup.created, x.keep, x.reasons]),
      [
        [i2.created, true, ['newest backup', 'last 1 of 1']],
        [i1.created, true, [`parent of ${i2.name}`]],
        [full.created, true, [`parent of ${i1.name}`]],
        [old.created, false, []],
      ],
    );
  });

  test('safety backups have their own rule and do not count for the others; an empty policy is refused', () => {
    const backups = [at('2026-06-01T00:00:00Z'), at('2026-06-02T00:00:00Z', { purpose: 'pre-restore' }), at('2026-06-03T00:00:00Z', { purpose: 'pre-restore' })];
    const d = applyPolicy(backups, { daily: 1, safety: 1 }, 'UTC');
    assert.deepEqual(d.map((x) => [x.backup.created, x.keep]), [['2026-06-03T00:00:00Z', true], ['2026-06-02T00:00:00Z', false], ['2026-06-01T00:00:00Z', true]]);
    assert.throws(() => applyPolicy(backups, { daily: 0, safety: 5 }, 'UTC'), (e) => isAicoError(e, 'USAGE') && /keeps nothing/.test(e.message));
  });

  test('a backup without a readable time is kept (it cannot be placed in any period)', () => {
    const d = applyPolicy([at('2026-07-01T00:00:00Z'), { ...at('x'), created: null }], { last: 1 }, 'UTC');
    assert.deepEqual(d.map((x) => [x.keep, x.reasons]), [[true, ['newest backup', 'last 1 of 1']], [true, ['no readable creation time']]]);
  });
});

describe('spans and pinned backups', () => {
  test('keep-within spans: calendar months and years back from the newest backup, then hours; nonsense refused', () => {
    assert.deepEqual(parseSpan('1y5m7d2h'), { years: 1, months: 5, days: 7, hours: 2 });
    assert.equal(spanStart(new Date('2026-12-31T00:30:00Z'), parseSpan('1m')).toISOString(), '2026-12-01T00:30:00.000Z');
    assert.equal(spanStart(new Date('2026-03-01T12:00:00Z'), parseSpan('1y36h')).toISOString(), '2025-02-28T00:00:00.000Z');
    for (const bad of ['', '7', '2h3d', '1w', '-1d']) assert.throws(() => parseSpan(bad), (e) => isAicoError(e, 'USAGE'), bad);
  });

  test('an unreadable backup is never removed, and is no "newest backup"; a pinned one is kept after the rules with its reason', () => {
    const backups = [at('2026-05-03T00:00:00Z', { problem: { code: 'TRUNCATED_ARCHIVE' } }), at('2026-05-02T00:00:00Z'), at('2026-05-01T00:00:00Z')];
    const d = applyPolicy(backups, { last: 1 }, 'UTC', new Map([[backups[2]!.name, 'newest backup that verifies']]));
    assert.deepEqual(
      d.map((x) => [x.backup.created, x.reasons]),
      [
        ['2026-05-03T00:00:00Z', ['unreadable (TRUNCATED_ARCHIVE): never removed by a policy, delete it by hand']],
        ['2026-05-02T00:00:00Z', ['newest backup', 'last 1 of 1']],
        ['2026-05-01T00:00:00Z', ['newest backup that verifies']],
      ],
    );
  });
});
