import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { AicoError } from '../../src/engine/errors.js';
import { KEY, cleanup, flat, renderApp } from '../ui/harness.js';
import { FakeEngine, OUT } from '../ui/fake-engine.js';

afterEach(cleanup);

describe('schedule screens', () => {
  test('s on the list, n: a new schedule checked as it is typed (next three runs, or what is wrong), enter saves it', async () => {
    const fake = new FakeEngine();
    const ui = renderApp(fake);
    await ui.waitFor('No backups yet');
    await ui.press('s');
    await ui.waitFor('No schedules yet. Press n to create one.');
    await ui.press('n');
    let f = await ui.waitFor(/Next runs: \w{3} \d\d-\d\d 02:00, \w{3} \d\d-\d\d 02:00, \w{3} \d\d-\d\d 02:00/);
    assert.match(f, /^> Name {14}default_$/m);
    assert.match(f, /^ {2}When {14}< daily >$/m);
    // Time: erase "00", type "7": not a time; then "30": 02:30.
    await ui.press(KEY.down, KEY.down, KEY.backspace, KEY.backspace, '7');
    f = await ui.waitFor('! Time: HH:MM');
    assert.match(f, /^> Time \(HH:MM\) {6}02:7_$/m);
    await ui.press(KEY.backspace, '30');
    await ui.waitFor(/Next runs: \w{3} \d\d-\d\d 02:30/);
    // When: weekly adds the Day field.
    await ui.press(KEY.up, KEY.right);
    f = await ui.waitFor(/Next runs: Sun \d\d-\d\d 02:30, Sun/);
    assert.match(f, /^> When {14}< weekly >$/m);
    assert.match(f, /^ {2}Day {15}< sunday >$/m);
    await ui.press(KEY.enter);
    f = await ui.waitFor(/^> default {6}weekly 02:30 sun/m);
    assert.match(f, /^> default +weekly 02:30 sun +Sun \d\d-\d\d 02:30 +never +ok$/m);
    assert.deepEqual(fake.callsOf('createSchedule').map((c) => [c.input.name, c.input.frequency, c.input.time, c.input.day, c.input.output_dir, c.replace]), [['default', 'weekly', '02:30', 'sunday', OUT, false]]);
  });

  test('a cron expression that cannot be read is said as it is typed; a save the engine refuses stays in the form with the reason', async () => {
    const fake = new FakeEngine();
    fake.scheduleSaveErrors.push(new AicoError('PASSWORD_REQUIRED', 'The schedule "default" makes encrypted backups and has no password source.', { hint: 'Store one with "aico backup password set".' }));
    const ui = renderApp(fake, { initial: { name: 'schedules' } });
    await ui.waitFor('No schedules yet.');
    await ui.press('n');
    await ui.waitFor('New backup schedule');
    await ui.press(KEY.down, KEY.left);
    await ui.waitFor('< cron >');
    await ui.press(KEY.down, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace);
    await ui.press('61 * * * *');
    let f = await ui.waitFor('! Cron:');
    assert.match(flat(f), /! Cron: The cron expression "61 \* \* \* \*" is not valid/, 'no check of an earlier draft is left on screen');
    await ui.press(KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, '0 */6 * * *');
    await ui.waitFor(/Next runs: \w{3} \d\d-\d\d \d\d:00/);
    await ui.press(KEY.enter);
    f = await ui.waitFor('no password source');
    assert.match(flat(f), /aico backup password set/);
    assert.match(f, /^> Cron {14}0 \*\/6 \* \* \*_$/m, 'the form is still there, as typed');
    await ui.press(KEY.enter);
    await ui.waitFor(/^> default +cron 0 \*\/6 \* \* \*/m);
  });

  test('on the list: space switches a schedule off and on, r runs it now and says what it made, d deletes after y', async () => {
    const fake = new FakeEngine();
    fake.schedules = [{ name: 'nightly', enabled: true, frequency: 'daily', time: '02:00', type: 'auto', full_every: 'weekly', cleanup: true }];
    const ui = renderApp(fake, { initial: { name: 'schedules' } });
    await ui.waitFor(/^> nightly {6}daily 02:00/m);
    await ui.press(' ');
    let f = await ui.waitFor(/nightly .* off$/m);
    assert.match(f, /Schedule "nightly" disabled\./);
    await ui.press(' ');
    await ui.waitFor(/nightly .* ok$/m);
    await ui.press('r');
    f = await ui.waitFor('Ran nightly:');
    assert.match(flat(f), /Ran nightly: full backup \S+aico-backup-20260314-100000\.tar\.zst\.enc \(18\.0 MiB\); cleanup removed 0\./);
    assert.deepEqual(fake.callsOf('runDue').map((c) => c.force), [['nightly']]);
    await ui.press('d');
    await ui.waitFor('Delete the schedule "nightly"?');
    await ui.press('y');
    await ui.waitFor('No schedules yet.');
    assert.deepEqual(fake.callsOf('changeSchedule').map((c) => c.change), ['disable', 'enable', 'delete']);
  });

  test('the backup list names a schedule whose last run failed', async () => {
    const fake = new FakeEngine();
    fake.schedules = [{ name: 'nightly', enabled: true, frequency: 'daily', time: '02:00', type: 'auto', full_every: 'weekly', cleanup: true }];
    fake.scheduleStates.set('nightly', { created: '2026-11-01T00:00:00.000Z', last_attempt: '2026-12-01T02:00:00.000Z', last_outcome: 'failed', last_success: null, last_backup: null, last_error: { code: 'NO_SPACE', message: 'The disk is full.' } });
    const ui = renderApp(fake);
    const f = await ui.waitFor('! Schedule nightly');
    assert.match(f, /^! Schedule nightly: last run FAILED \(NO_SPACE\); s for details$/m);
    await ui.press('s');
    const s = await ui.waitFor(/nightly .*FAILED/);
    assert.match(flat(s), /Last try \w{3} 12-01 \d\d:00: FAILED NO_SPACE: The disk is full\./);
  });
});
