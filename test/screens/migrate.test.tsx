import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { KEY, cleanup, flat, renderApp } from '../ui/harness.js';
import { FakeEngine } from '../ui/fake-engine.js';

afterEach(cleanup);

describe('migrate screen', () => {
  test('m on the list: status, the directory, the password twice, each step ticked off, y before the switch-over, the master key once', async () => {
    const fake = new FakeEngine();
    fake.env = { AICO_BACKUP_PASSWORD: 'backup-pw' };
    fake.latency = 20;
    const ui = renderApp(fake);
    await ui.waitFor('No backups yet');
    await ui.press('m');
    let f = await ui.waitFor('plaintext (not migrated)');
    assert.match(f, /e encrypt/);
    await ui.press('e');
    await ui.waitFor('Encrypted directory (new or empty):');
    await ui.press(KEY.enter);
    await ui.waitFor('New password for the encrypted home:');
    await ui.press(...'fs secret', KEY.enter);
    await ui.waitFor('Repeat it:');
    await ui.press(...'fs typo', KEY.enter);
    await ui.waitFor('The two passwords differ');
    await ui.press(...'fs secret', KEY.enter);
    await ui.waitFor('Repeat it:');
    await ui.press(...'fs secret', KEY.enter);
    f = await ui.waitFor('Switch AICO over to the encrypted home now?');
    assert.match(f, /✓ Check gocryptfs, FUSE, free space, AICO stopped/);
    assert.match(f, /✓ Copy every file/);
    assert.ok(!f.includes('Master key'), 'nothing is shown before the switch-over');
    await ui.press('y');
    f = await ui.waitFor('Master key, shown once');
    assert.match(flat(f), /af59e38b-b4ba672e-ab5362e3-40f15609-357edfe2-117cd2b2-53f9b122-50c85715/);
    assert.match(f, /✓ Switch over: plaintext aside, encrypted home mounted/);
    const call = fake.callsOf('migrateEncrypt')[0]!;
    assert.equal((await call.fsPassword()).toString(), 'fs secret');
    assert.equal((await call.backup.password()).toString(), 'backup-pw');
    assert.match(call.cipherDir, /aico-encrypted$/);
  });

  test('any other key before the switch-over stops there, the home unchanged; a migrated home mounts and unmounts with m', async () => {
    const fake = new FakeEngine();
    fake.env = { AICO_BACKUP_PASSWORD: 'backup-pw' };
    const ui = renderApp(fake, { initial: { name: 'migrate' } });
    await ui.waitFor('plaintext (not migrated)');
    await ui.press('e', KEY.enter);
    await ui.waitFor('New password');
    await ui.press(...'pw', KEY.enter);
    await ui.waitFor('Repeat it:');
    await ui.press(...'pw', KEY.enter);
    await ui.waitFor('Switch AICO over');
    await ui.press('n');
    await ui.waitFor('Stopped; the home is unchanged.');
    cleanup();
    const migrated = new FakeEngine();
    migrated.migration = { home: '/h', state: 'migrated', step: 'done', cipher_dir: '/c', mounted: true, plaintext: null, backup: null };
    const ui2 = renderApp(migrated, { initial: { name: 'migrate' } });
    await ui2.waitFor('encrypted in /c, mounted');
    await ui2.press('m');
    await ui2.waitFor('NOT mounted');
    await ui2.press('m');
    await ui2.waitFor('encrypted in /c, mounted');
    assert.deepEqual(migrated.calls.filter((c) => c.op === 'mountHome' || c.op === 'unmountHome').map((c) => c.op), ['unmountHome', 'mountHome']);
  });
});
