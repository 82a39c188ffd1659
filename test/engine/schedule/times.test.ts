import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAicoError } from '../../../src/engine/errors.js';
import { checkCron, cronOf, lastScheduled, nextRuns } from '../../../src/engine/schedule/times.js';

const iso = (ds: Date[]) => ds.map((d) => d.toISOString());

describe('schedule times (cron-parser, in an explicit zone)', () => {
  test("the seed's frequencies as cron expressions", () => {
    assert.equal(cronOf({ frequency: 'daily', time: '02:00' }), '0 2 * * *');
    assert.equal(cronOf({ frequency: 'weekly', day: 'sunday', time: '03:00' }), '0 3 * * 0');
    assert.equal(cronOf({ frequency: 'monthly', time: '04:30' }), '30 4 1 * *');
    assert.equal(cronOf({ frequency: 'monthly', time: '04:30', day_of_month: 15 }), '30 4 15 * *');
    assert.equal(cronOf({ cron: ' 0 2 * * * ' }), '0 2 * * *');
  });

  test('daily at 02:00 in Zurich across the spring DST change: 02:00 does not exist on 29 March, the run comes at 03:00', async () => {
    const runs = await nextRuns('0 2 * * *', 'Europe/Zurich', new Date('2026-03-27T12:00:00Z'), 4);
    assert.deepEqual(iso(runs), ['2026-03-28T01:00:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:00:00.000Z', '2026-03-31T00:00:00.000Z']);
  });

  test('daily at 02:30 across the autumn change: 02:30 happens twice on 25 October, the run comes once', async () => {
    const runs = await nextRuns('30 2 * * *', 'Europe/Zurich', new Date('2026-10-24T12:00:00Z'), 3);
    const days = runs.map((d) => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Zurich', dateStyle: 'short' }).format(d));
    assert.deepEqual(days, ['2026-10-25', '2026-10-26', '2026-10-27']);
  });

  test('weekly on Sunday at 03:00; the last scheduled time counts a run due this very minute', async () => {
    assert.deepEqual(iso(await nextRuns('0 3 * * 0', 'UTC', new Date('2026-12-01T00:00:00Z'), 2)), ['2026-12-06T03:00:00.000Z', '2026-12-13T03:00:00.000Z']);
    assert.equal((await lastScheduled('0 3 * * 0', 'UTC', new Date('2026-12-06T03:00:00Z'))).toISOString(), '2026-12-06T03:00:00.000Z');
    assert.equal((await lastScheduled('0 3 * * 0', 'UTC', new Date('2026-12-06T02:59:59Z'))).toISOString(), '2026-11-29T03:00:00.000Z');
  });

  test('an invalid expression is a USAGE error that points at the field', async () => {
    for (const bad of ['0 2 * *', '61 2 * * *', '0 25 * * *', 'every day']) {
      await assert.rejects(checkCron(bad, 'UTC'), (e) => isAicoError(e, 'USAGE') && e.details?.field === 'cron' && e.message.includes(bad), bad);
    }
    await checkCron('*/5 * * * *', 'UTC');
  });
});
