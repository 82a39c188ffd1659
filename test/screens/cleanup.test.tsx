import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { KEY, cleanup, flat, renderApp } from '../ui/harness.js';
import { FakeEngine, SETTINGS, backupEntry } from '../ui/fake-engine.js';

afterEach(cleanup);

/** Five backups an hour apart (newest 09:00 UTC), the newest encrypted; the policy keeps the last two. */
function setup(keepLast = 2) {
  const fake = new FakeEngine();
  fake.backups = [backupEntry(0, { encrypted: true }), ...[1, 2, 3, 4].map((i) => backupEntry(i))];
  const settings = { ...SETTINGS, config: { ...SETTINGS.config, retention: { keep_last: keepLast, keep_daily: 0, keep_weekly: 0, keep_monthly: 0 } } };
  return { fake, settings };
}

describe('cleanup screen', () => {
  test('x on the list: the newest backup\'s password, a preview of every backup with its reasons, then y removes what it showed', async () => {
    const { fake, settings } = setup();
    const ui = renderApp(fake, { settings });
    await ui.waitFor('(5)');
    await ui.press('x');
    await ui.waitFor('Password:');
    await ui.press(...'correct horse', KEY.enter);
    const preview = await ui.waitFor('y = remove');
    assert.match(preview, /Policy --keep-last 2 --keep-safety 3 \(retention: in core\.yaml\), periods in/);
    assert.match(preview, /keep {4}\S+ \S+ {2}full {3}newest backup; last 1 of 2/);
    assert.match(preview, /keep {4}\S+ \S+ {2}full {3}last 2 of 2/);
    assert.equal(preview.match(/^REMOVE /gm)?.length, 3);
    assert.match(flat(preview), /Remove 3 of 5 backups \(54\.0 MiB\)\? .*verified\. y = remove, any other key = keep them all/);
    assert.equal(fake.backups.length, 5, 'the preview removed nothing');
    await ui.press('y');
    const done = await ui.waitFor('Removed 3 backup(s)');
    assert.match(done, /freed 54\.0 MiB/);
    assert.deepEqual(fake.backups.map((b) => b.name), [backupEntry(0, { encrypted: true }).name, backupEntry(1).name]);
    // First without a password (asked for only when something would go), then the preview with it, then the removal.
    assert.deepEqual(fake.callsOf('cleanup').map((o) => [o.dryRun, o.password !== undefined, o.dir, o.rules.last]), [[true, false, SETTINGS.outputDir, 2], [true, true, SETTINGS.outputDir, 2], [false, true, SETTINGS.outputDir, 2]]);
  });

  test('any other key at the confirmation keeps every backup; a policy that keeps all asks nothing', async () => {
    const { fake, settings } = setup();
    const ui = renderApp(fake, { settings, initial: { name: 'cleanup' } });
    await ui.waitFor('Password:');
    await ui.press(...'correct horse', KEY.enter);
    await ui.waitFor('y = remove');
    await ui.press('n');
    await ui.waitFor((f) => !f.includes('y = remove'));
    assert.equal(fake.backups.length, 5);
    assert.deepEqual(fake.callsOf('cleanup').map((o) => o.dryRun), [true, true]);

    cleanup();
    const all = setup(10);
    const ui2 = renderApp(all.fake, { settings: all.settings, initial: { name: 'cleanup' } });
    const f = await ui2.waitFor('Nothing to remove');
    assert.ok(!f.includes('y = remove') && !f.includes('Password:'), 'nothing is verified when nothing would go');
  });

  test('a wrong password: the error says so and nothing is removed', async () => {
    const { fake, settings } = setup();
    const ui = renderApp(fake, { settings, initial: { name: 'cleanup' } });
    await ui.waitFor('Password:');
    await ui.press(...'wrong', KEY.enter);
    const f = await ui.waitFor('Wrong password');
    assert.ok(!f.includes('y = remove'));
    assert.equal(fake.backups.length, 5);
  });
});
