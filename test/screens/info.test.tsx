import { KEY, cleanup, colourCodes, renderApp, withNoColor, type Ui } from '../ui/harness.js';
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { FakeEngine, backupEntry } from '../ui/fake-engine.js';

afterEach(cleanup);

const plain = backupEntry(0);
const enc = backupEntry(1, { encrypted: true });
const PASSWORD = 'Tr0ub4dor&3';

function engine(): FakeEngine {
  const fake = new FakeEngine();
  fake.backups = [plain, enc];
  fake.passwords.set(enc.path, PASSWORD);
  return fake;
}

/** From the list, opens info of the encrypted backup (the second row). */
async function openEncrypted(ui: Ui): Promise<string> {
  await ui.waitFor('(2)');
  await ui.press(KEY.down);
  await ui.waitFor((f) => f.split('\n').some((l) => l.startsWith('>') && l.includes('yes')));
  await ui.press(KEY.enter);
  return ui.waitFor('Password: ');
}

describe('info screen', () => {
  test('an unencrypted backup shows its metadata at once, without a password', async () => {
    const fake = engine();
    const ui = renderApp(fake);
    await ui.waitFor('(2)');
    await ui.press(KEY.enter);
    const f = await ui.waitFor('Contents');
    assert.ok(!f.includes('Password'));
    assert.ok(f.startsWith(plain.path));
    assert.match(f, /id\s+0d6f1c2a-5b1e-4c61-9a55-3c2f1b7e9d10/);
    assert.match(f, /created\s+2026-03-14T09:26:53\.000Z/);
    assert.match(f, /type\s+full/);
    assert.match(f, /format\s+1, aico-backup 0\.1\.0/);
    assert.match(f, /compression zstd level 3/);
    assert.match(f, /encryption\s+none; master key included/);
    assert.match(f, /libsql\s+5\.0 MiB\s+2 files\s+1234 rows in 2 tables/);
    assert.match(f, /chromadb\s+12\.0 MiB\s+7 files\s+920 records in 2 collections/);
    assert.match(f, /working\s+1\.0 MiB\s+2 files\s+4321 entries/);
    assert.match(f, /config\s+6\.0 KiB\s+3 files/);
    const [call] = fake.callsOf('info');
    assert.equal(call.path, plain.path);
    assert.equal(call.password, undefined);
  });

  test('an encrypted backup asks for the password masked: only "*" on screen, never the password', async () => {
    const fake = engine();
    const ui = renderApp(fake);
    let f = await openEncrypted(ui);
    assert.match(f, /This backup is encrypted\./);
    assert.deepEqual(fake.callsOf('info'), [], 'nothing is read before the password is known');
    await ui.type(PASSWORD);
    f = await ui.waitFor(`Password: ${'*'.repeat(PASSWORD.length)}`);
    // Backspace removes one character.
    await ui.press(KEY.backspace);
    await ui.waitFor((fr) => fr.includes(`Password: ${'*'.repeat(PASSWORD.length - 1)}`) && !fr.includes('*'.repeat(PASSWORD.length)));
    await ui.type(PASSWORD.at(-1)!);
    await ui.press(KEY.enter);
    f = await ui.waitFor('Contents');
    assert.match(f, /encryption\s+AES-256-GCM, PBKDF2; master key included/);
    assert.deepEqual(fake.passwordsSeen, [PASSWORD], 'the engine got exactly what was typed');
    for (const frame of ui.allFrames()) {
      for (let n = 3; n <= PASSWORD.length; n++) assert.ok(!frame.includes(PASSWORD.slice(0, n)), `password text in a frame:\n${frame}`);
      assert.ok(!frame.includes(PASSWORD.slice(-4)));
    }
  });

  test('the password is asked once per session', async () => {
    const fake = engine();
    const ui = renderApp(fake);
    await openEncrypted(ui);
    await ui.type(PASSWORD);
    await ui.press(KEY.enter);
    await ui.waitFor('Contents');
    await ui.press('q');
    await ui.waitFor('(2)');
    await ui.press(KEY.down);
    await ui.waitFor((f) => f.split('\n').some((l) => l.startsWith('>') && l.includes('yes')));
    await ui.press(KEY.enter);
    const f = await ui.waitFor('Contents');
    assert.ok(!ui.allFrames().slice(-3).some((fr) => fr.includes('Password: ')), 'not asked again');
    assert.ok(!f.includes('Password'));
    assert.deepEqual(fake.passwordsSeen, [PASSWORD, PASSWORD]);
  });

  test('a wrong password shows the error with its hint, and is forgotten: asked again next time', async () => {
    const fake = engine();
    const ui = renderApp(fake);
    await openEncrypted(ui);
    await ui.type('tr0ub4dor&3');
    await ui.press(KEY.enter);
    let f = await ui.waitFor('Error (WRONG_PASSWORD)');
    assert.match(f, /Wrong password for this backup\./);
    assert.match(f, /What to do: Check the password \(it is case-sensitive\) and try again\./);
    assert.ok(!f.includes('Contents'));
    await ui.press('q');
    await ui.waitFor('(2)');
    f = await openEncrypted(ui);
    assert.match(f, /This backup is encrypted\./);
    assert.match(f, /Password: (?!\*)/, 'the prompt starts empty');
    await ui.type(PASSWORD);
    await ui.press(KEY.enter);
    await ui.waitFor('Contents');
    assert.deepEqual(fake.passwordsSeen, ['tr0ub4dor&3', PASSWORD]);
  });

  test('esc at the password prompt goes back to the list without reading the backup', async () => {
    const fake = engine();
    const ui = renderApp(fake);
    await openEncrypted(ui);
    await ui.type('abc');
    await ui.press(KEY.esc);
    await ui.waitFor('(2)');
    assert.deepEqual(fake.callsOf('info'), []);
  });

  test('ctrl-c at the password prompt quits the app', async () => {
    const ui = renderApp(engine());
    await openEncrypted(ui);
    await ui.press(KEY.ctrlC);
    // Regression: the app renders with exitOnCtrlC: false and quit only from
    // useBackKeys, which is off while the prompt has the keyboard (TextInput drops ctrl keys).
    assert.ok(ui.exited(), `still running:\n${ui.frame()}`);
  });

  test('NO_COLOR=1: the error box uses no colour codes (it is red otherwise)', async () => {
    const control = renderApp(engine());
    await openEncrypted(control);
    await control.type('nope');
    await control.press(KEY.enter);
    await control.waitFor('Error (WRONG_PASSWORD)');
    assert.ok(colourCodes(control.rawFrame()).length > 0);
    control.unmount();
    await withNoColor(async () => {
      const fake = engine();
      const ui = renderApp(fake);
      await openEncrypted(ui);
      await ui.type('nope');
      await ui.press(KEY.enter);
      await ui.waitFor('Error (WRONG_PASSWORD)');
      assert.deepEqual(ui.rawFrames().flatMap(colourCodes), []);
    });
  });
});
